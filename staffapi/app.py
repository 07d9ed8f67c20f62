"""Staff API (aiohttp) for 12345 work orders and the consoles: `python -m staffapi` on PORTS.staff_api.

create_app() wires the routes of each area (login, orders, frontdesk, reports, directory, bot_relay, openapi,
catalogue_routes), the consoles' static files, the deadline watcher (scheduler_glue) and the startup work
(secret, directory, catalogue and report counters loaded before the first request). The order list, KPIs and
hot spots run in a report worker process (staffapi.base.ReportWorker) when the service is built here.
With STAFF_API_WORKERS > 1 (default: one per CPU), `python -m staffapi` supervises that many worker processes
on the one port and one report process shared by them (staffapi/workers.py).
GET /health is open; everything under /api/ except /api/login and /api/openapi.json needs
`Authorization: Bearer <token>`.
"""
from __future__ import annotations

import json
import logging
import mimetypes
from functools import wraps

from aiohttp import web

from catalogue.loader import load_catalogue
from clients.rasa import RasaClient
from common.privacy import load_secret
from common.redis_conn import UNAVAILABLE
from common.settings import PORTS, ROOT, env_flag, env_str, rasa_url, redis_url, staff_api_workers
from staffapi import apischema, scheduler_glue, workers
from staffapi import bot_relay, directory, frontdesk, login, openapi, orders, reports
from staffapi.base import (
    DUMMY_HASH, GUARD, MAX_BODY, RASA, REPORTS, SIGNER, SVC, USERS, ReportWorker, errors_middleware,
)
from workorders import auth
from workorders.login_guard import LoginGuard, Limits
from workorders.model import WorkOrderError
from workorders.service import WorkOrderService

log = logging.getLogger(__name__)
CONSOLES = ROOT / "consoles"


async def console_index(request):
    return web.FileResponse(CONSOLES / "index.html")

CATALOGUE_ERRORS = {400: "bad_query", 404: "not_found", 503: "catalogue_unavailable"}


def _catalogue_handler(handler, query: list[dict] | None = None):
    """Mount a catalogue route (staffapi/catalogue_routes.py) with the staff API's contract: its query checked
    like every other route, its errors as {"error": code, "message": 中文}."""

    @wraps(handler)
    async def wrapper(request):
        if query:
            apischema.parse_query(query, request.query)
        resp = await handler(request)
        if resp.status >= 400 and isinstance(resp, web.Response) and resp.body is not None:
            try:
                body = json.loads(resp.body)
            except (TypeError, ValueError):
                body = {}
            if not isinstance(body, dict) or "message" not in body:
                text = body.get("error") if isinstance(body, dict) else None
                raise WorkOrderError(CATALOGUE_ERRORS.get(resp.status, f"http_{resp.status}"),
                                     str(text or "请求无法处理。"), resp.status)
        return resp

    return wrapper


def mount_catalogue(app: web.Application) -> None:
    from staffapi import catalogue_routes as catalogue_http

    queries = {"/api/catalogue/search": apischema.CATALOGUE_SEARCH_QUERY}
    for route in catalogue_http.routes():
        app.router.add_route(route.method, route.path, _catalogue_handler(route.handler, queries.get(route.path)),
                             **route.kwargs)

# --- app ---------------------------------------------------------------------------------------
def create_app(service: WorkOrderService | None = None, users: dict | None = None,
               signer: auth.TokenSigner | None = None, run_scheduler: bool | None = None,
               mount_extras: bool = True, login_limits: Limits | None = None,
               report_worker: bool | None = None) -> web.Application:
    """`report_worker`: compute the order list, KPIs and hot spots in a separate process (staffapi.base
    ReportWorker); by default when the service is built here from REDIS_URL (the worker connects the same way)
    and STAFF_API_REPORT_WORKER is not "0"."""
    if report_worker is None:
        report_worker = service is None and env_flag("STAFF_API_REPORT_WORKER", True)
    app = web.Application(client_max_size=MAX_BODY, middlewares=[errors_middleware])
    app[SVC] = service or WorkOrderService.from_url(redis_url())
    app[USERS] = users if users is not None else auth.load_users()
    app[RASA] = RasaClient(rasa_url(), timeout_s=30)
    app[SIGNER] = signer or auth.TokenSigner()
    app[DUMMY_HASH] = auth.hash_password("not-a-user")
    app[GUARD] = LoginGuard(app[SVC].redis, prefix=app[SVC].store.p, limits=login_limits)
    r = app.router
    r.add_get("/health", login.health)
    r.add_post("/api/login", login.login)
    r.add_get("/api/me", login.me)
    r.add_get("/api/openapi.json", openapi.openapi)
    r.add_post("/api/orders", orders.create_order)
    r.add_get("/api/orders", orders.list_orders)
    r.add_get("/api/orders/{order_id}", orders.get_order)
    r.add_post("/api/orders/{order_id}/correct", orders.correct_order)
    r.add_post("/api/orders/{order_id}/materials", frontdesk.upload_material)
    r.add_post("/api/orders/{order_id}/signature", frontdesk.upload_signature)
    r.add_get("/api/orders/{order_id}/attachments/{name}", frontdesk.get_attachment)
    r.add_post("/api/orders/{order_id}/desk-rating", frontdesk.desk_rating)
    r.add_get("/api/queue", frontdesk.queue_status)
    r.add_post("/api/queue/tickets", frontdesk.queue_ticket)
    r.add_post("/api/queue/call", frontdesk.queue_call)
    r.add_post("/api/orders/{order_id}/actions/{action}", orders.order_action)
    r.add_get("/api/orders/{order_id}/events", orders.order_events)
    r.add_get("/api/orders/{order_id}/verify", orders.verify_order)
    r.add_get("/api/kpi", reports.get_kpi)
    r.add_get("/api/hotspots", reports.get_hotspots)
    r.add_get("/api/supervision", reports.supervision)
    r.add_get("/api/directory/units", directory.directory_units)
    r.add_get("/api/directory/units/{unit_id}", directory.directory_unit)
    r.add_post("/api/bot/message", bot_relay.bot_message)
    if mount_extras:
        mount_catalogue(app)
        if (CONSOLES / "index.html").exists():
            r.add_get("/", console_index)
            r.add_static("/", CONSOLES)  # last: only paths no API route matched
    # Load the secret, the directory and the catalogue now, not inside the first request's loop turn.
    load_secret()
    _ = app[SVC].directory
    if mount_extras:
        load_catalogue(strict=False)
        mimetypes.init()  # static files: aiohttp would read the system's mime tables inside a request
    if service is None and app[SVC].classifier is not None:
        # The classifier's models load on first use (~10 s on a busy box): before serving, not inside the
        # first intake's loop turn (with N workers, once in each).
        app[SVC].classifier("0", {"place": {}, "channel": "api"})
    if run_scheduler is None:
        run_scheduler = env_flag("WORKORDER_SCHEDULER", True)
    if run_scheduler:
        scheduler_glue.start(app, SVC)

    async def _reports(app):
        store = app[SVC].store
        try:
            # Data written before sorted-set indexes or counters existed: converted or counted once, by one
            # worker or replica (the others skip: two would race on the same keys).
            if await store.redis.set(store.k("idx", "migrating"), "1", nx=True, ex=600) and \
                    await store.migrate_indexes():
                log.info("order indexes converted to sorted sets")
            if not await store.reports_ready() and await store.redis.set(store.k("rep", "rebuilding"), "1",
                                                                          nx=True, ex=600):
                log.info("report counters: rebuilt from %d orders", await store.rebuild_reports())
        except (*UNAVAILABLE, OSError) as exc:
            log.warning("report counters not checked (Redis unavailable: %s); reports may be incomplete", exc)

    async def _close(app):
        await app[SVC].redis.close()
        await app[RASA].close()

    async def _stop_report_worker(app):
        app[REPORTS].close()

    app.on_startup.append(_reports)
    if report_worker:  # the supervisor's shared report process (staffapi/workers.py), else one of our own
        app[REPORTS] = (workers.SharedReports(app[SVC].store.p) if env_str(workers.SOCKET_ENV)
                        else ReportWorker(app[SVC].store.p))
        app.on_cleanup.append(_stop_report_worker)

    app.on_cleanup.append(_close)
    return app


def main(argv: list[str] | None = None) -> None:
    """One process serving (STAFF_API_WORKERS=1), or the supervisor of N workers and the shared report
    process (staffapi/workers.py); `--worker` and `--reports` are those children."""
    import sys

    from common.privacy import install_log_masking

    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=env_str("LOG_LEVEL", "INFO"))
    install_log_masking()
    if "--reports" in args:
        workers.serve_reports()
        return
    if "--worker" not in args and staff_api_workers() > 1:
        sys.exit(workers.supervise())
    web.run_app(create_app(), host=env_str("STAFF_API_HOST", "0.0.0.0"), port=PORTS.staff_api,
                access_log=None, loop=_event_loop(), reuse_port="--worker" in args)


def _event_loop():
    """uvloop (in the lock file through Sanic) when present: its transports cut the cost of every request and
    Redis round trip; the standard loop otherwise."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop()


if __name__ == "__main__":
    main()
