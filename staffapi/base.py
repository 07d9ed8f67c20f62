"""Shared plumbing of the staff API: app keys, JSON responses and errors, the error middleware, body limits,
JSON body parsing, the role decorator and the report worker.

Report worker: the order list, KPIs and hot spots are computed in a separate process (ReportWorker, one
process, niced) when the app has one, so that a console user reloading reports does not hold up intake on
the event loop; on a 2-core box the lower priority also keeps the CPU for intake first. Without one (tests
that inject a service), the same functions run in the loop.

Errors are JSON {"error": code, "message": 中文} with a 4xx status for anything the client sent (429 and 503
carry Retry-After); a 5xx only for a real server fault. Request bodies are capped at MAX_BODY (413; photo
uploads at MAX_UPLOAD), JSON bodies must be objects nested at most apischema.MAX_DEPTH deep and match the
schema of their route (staffapi/apischema.py).
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import wraps

from aiohttp import web

from clients.rasa import RasaClient
from common.redis_conn import UNAVAILABLE
from common.settings import env_int
from staffapi import apischema
from workorders import auth
from workorders.login_guard import LoginGuard
from workorders.model import ACTIONS, Forbidden, WorkOrderError
from workorders.service import WorkOrderService

log = logging.getLogger(__name__)


MAX_BODY = 64 * 1024
MAX_UPLOAD = 1024 * 1024 + 1024  # one downscaled material photo (service.MAX_PHOTO_BYTES)
STORAGE_RETRY_AFTER = 5
SVC = web.AppKey("svc", WorkOrderService)
USERS = web.AppKey("users", dict)
RASA = web.AppKey("rasa", RasaClient)  # one client (one connection pool) for the bot relay
SIGNER = web.AppKey("signer", auth.TokenSigner)
DUMMY_HASH = web.AppKey("dummy_hash", str)
GUARD = web.AppKey("login_guard", LoginGuard)


class ReportWorker:
    """One niced helper process that runs read-only report functions `fn(svc, *args) -> bytes` (JSON).
    Made (and remade after a crash) outside the event loop: spawning a process blocks."""

    # Intake first: the worker gets the CPU the event loop leaves (STAFF_API_REPORT_NICE, 0 = same priority).
    NICE = env_int("STAFF_API_REPORT_NICE", 10)

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        import multiprocessing

        # spawn, not fork: the parent may already run an event loop with open Redis connections
        executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_worker_init, initargs=(self.prefix,))
        executor.submit(os.getpid).result(timeout=120)  # started and initialised before the first report
        return executor

    async def run(self, fn, *args) -> bytes:
        loop = asyncio.get_running_loop()
        try:
            out = await loop.run_in_executor(self.executor, _worker_call, fn, args)
        except BrokenProcessPool:
            log.error("report worker died; starting a new one")
            self.executor = await loop.run_in_executor(None, self._start)
            out = await loop.run_in_executor(self.executor, _worker_call, fn, args)
        return worker_result(out)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


REPORTS = web.AppKey("report_worker", ReportWorker)
_WORKER: dict = {}


def lower_priority() -> None:
    """Intake first: a report process runs at nice ReportWorker.NICE."""
    try:
        if ReportWorker.NICE:
            os.nice(ReportWorker.NICE)
    except OSError:
        pass


def worker_loop() -> None:
    """The report process's own event loop (reports are coroutines run to completion one at a time)."""
    _WORKER["loop"] = asyncio.new_event_loop()
    asyncio.set_event_loop(_WORKER["loop"])


def worker_service(prefix: str) -> WorkOrderService:
    from common.privacy import load_secret

    svc = WorkOrderService.from_url(prefix=prefix)
    load_secret()
    _ = svc.directory  # unit names of the KPI rows
    return svc


def _worker_init(prefix: str) -> None:
    lower_priority()
    worker_loop()
    _WORKER["svc"] = worker_service(prefix)


def worker_result(out: tuple) -> bytes:
    """A report process's answer (see _worker_call) back into the body, the refusal or the outage."""
    if out[0] == "ok":
        return out[1]
    if out[0] == "error":
        raise WorkOrderError(out[1], out[2], out[3], **out[4])
    raise UNAVAILABLE[0]("storage unavailable in the report worker")


def _worker_call(fn, args: tuple):
    """In the worker: fn(svc, *args), its refusals and an unreachable Redis as plain tuples (picklable)."""
    try:
        return "ok", _WORKER["loop"].run_until_complete(fn(_WORKER["svc"], *args))
    except WorkOrderError as exc:
        return "error", exc.code, exc.message, exc.status, exc.details
    except UNAVAILABLE:
        return ("unavailable",)


async def offload(request: web.Request, fn, *args) -> web.Response:
    """The JSON that `fn(svc, *args)` returns as bytes, computed in the report worker when the app has one."""
    worker = request.app.get(REPORTS)
    body = await worker.run(fn, *args) if worker is not None else await fn(request.app[SVC], *args)
    return web.Response(body=body, content_type="application/json", charset="utf-8")


def dumps(data) -> bytes:
    return json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")
API_ACTIONS = tuple(a for a in ACTIONS if a != "warn")  # 预警 is raised by the scheduler only
ACTION_FIELDS = frozenset(apischema.ACTION["properties"])
# Staff free text: masked (common.privacy.mask_text) before it is stored in the order and its events.
FREE_TEXT_FIELDS = ("reply", "reason", "note", "answer", "department", "channel")
HTTP_ERRORS = {400: ("bad_request", "请求格式不正确。"), 403: ("forbidden", "无权访问。"),
               404: ("not_found", "没有这个地址。"), 408: ("request_timeout", "请求超时。"),
               411: ("length_required", "请求需要 Content-Length。"),
               415: ("unsupported_media_type", "不支持的内容类型。")}

def error(status: int, code: str, message: str, headers: dict | None = None, **details) -> web.Response:
    body = {"error": code, "message": message}
    if details:
        body["details"] = details
    return web.json_response(body, status=status, headers=headers,
                             dumps=lambda o: json.dumps(o, ensure_ascii=False, default=str))


def ok(data, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False, default=str))


def body_limit(request: web.Request) -> int:
    """MAX_BODY, except the front desk's image uploads (POST /api/orders/{id}/materials|signature)."""
    if request.method == "POST" and request.path.startswith("/api/orders/") and \
            request.path.rsplit("/", 1)[-1] in ("materials", "signature"):
        return MAX_UPLOAD
    return MAX_BODY


def too_large(limit: int = MAX_BODY) -> web.Response:
    cap = f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit // 1024} KB"
    resp = error(413, "body_too_large", f"请求内容过大（上限 {cap}）。", max_bytes=limit)
    resp.force_close()  # the rest of the body is not read: this connection cannot carry another request
    return resp


def _is_static(request: web.Request) -> bool:
    route = request.match_info.route
    return isinstance(getattr(route, "resource", None), web.StaticResource)


async def _api_methods(request: web.Request) -> set[str]:
    """Methods the API routes (static files aside) serve at this path: the static mount at "/" must not
    turn GET /api/login into a file lookup nor advertise GET in a 405's Allow header."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if not isinstance(resource, web.StaticResource):
            allowed |= (await resource.resolve(request))[1]
    return allowed


def method_not_allowed(request: web.Request, allowed: set[str]) -> web.Response:
    methods = sorted(allowed)
    return error(405, "method_not_allowed", f"不支持 {request.method} 方法。",
                 headers={"Allow": ", ".join(methods)}, allowed=methods)


@web.middleware
async def errors_middleware(request: web.Request, handler):
    # Refuse an announced oversized body before authentication or routing reads anything.
    if request.content_length is not None and request.content_length > body_limit(request):
        return too_large(body_limit(request))
    if _is_static(request):
        allowed = await _api_methods(request)
        if allowed:  # an API path asked with another method
            return method_not_allowed(request, allowed)
    try:
        return await handler(request)
    except WorkOrderError as exc:
        headers = None
        if exc.status in (429, 503):
            headers = {"Retry-After": str(int(exc.details.get("retry_after", 30)))}
        return error(exc.status, exc.code, exc.message, headers=headers, **exc.details)
    except web.HTTPRequestEntityTooLarge:
        return too_large()
    except web.HTTPNotFound:
        return error(404, "not_found", "没有这个地址。")
    except web.HTTPMethodNotAllowed as exc:
        return method_not_allowed(request, await _api_methods(request) or set(exc.allowed_methods))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code, message = HTTP_ERRORS.get(exc.status, (f"http_{exc.status}", "请求无法处理。"))
        return error(exc.status, code, message)
    except UNAVAILABLE:
        log.warning("storage unavailable on %s %s", request.method, request.path)
        return error(503, "storage_unavailable", "数据存储暂时不可用，请稍后重试。",
                     headers={"Retry-After": str(STORAGE_RETRY_AFTER)}, retry_after=STORAGE_RETRY_AFTER)
    except asyncio.CancelledError:
        raise
    except (OSError, ValueError):
        if _is_static(request):  # e.g. a 300-character file name (ENAMETOOLONG), a NUL byte
            return error(404, "not_found", "没有这个地址。")
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error(500, "internal_error", "系统内部错误，请稍后重试。")
    except Exception:  # noqa: BLE001 - last resort: never leak a traceback
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error(500, "internal_error", "系统内部错误，请稍后重试。")


def _reject_constant(name: str):
    raise ValueError(f"JSON constant {name} is not allowed")


async def json_body(request: web.Request, required: bool = True) -> dict:
    """The request's JSON object: 400 for anything that is not one (bad UTF-8, not JSON, NaN,
    a list or number, nesting deeper than apischema.MAX_DEPTH), 413 over MAX_BODY."""
    if not request.can_read_body:
        if required:
            raise WorkOrderError("body_required", "请求需要 JSON 内容。", 400)
        return {}
    raw = await request.read()  # raises HTTPRequestEntityTooLarge over client_max_size
    if not raw.strip() and not required:
        return {}
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except RecursionError:
        raise WorkOrderError("bad_json", f"JSON 嵌套层数过多（最多 {apischema.MAX_DEPTH} 层）。", 400) from None
    except (UnicodeDecodeError, ValueError):  # JSONDecodeError, NaN/Infinity, over-long integers
        raise WorkOrderError("bad_json", "请求内容不是有效的 JSON。", 400) from None
    if not isinstance(data, dict):
        raise WorkOrderError("bad_json", "请求内容必须是 JSON 对象。", 400)
    if not apischema.json_depth_ok(data):
        raise WorkOrderError("bad_json", f"JSON 嵌套层数过多（最多 {apischema.MAX_DEPTH} 层）。", 400)
    return data


def requires(roles=None):
    """Authenticate the bearer token; optionally require one of `roles`. Sets request["user"]."""

    def deco(handler):
        @wraps(handler)
        async def wrapper(request: web.Request):
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer "):
                raise WorkOrderError("unauthenticated", "请先登录。", 401)
            claims = request.app[SIGNER].verify(header[7:].strip())
            user = request.app[USERS].get(claims.get("sub"))
            if user is None or user.role != claims.get("role"):
                raise WorkOrderError("bad_token", "登录凭证无效，请重新登录。", 401)
            if roles and user.role not in roles:
                raise Forbidden("forbidden", "您的岗位无权访问此功能。", role=user.role)
            request["user"] = user
            request["actor"] = user.actor()
            return await handler(request)

        wrapper.roles = roles
        wrapper.authenticated = True
        return wrapper

    return deco
