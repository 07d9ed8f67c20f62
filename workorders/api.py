"""Staff API (aiohttp) for 12345 work orders: `python -m workorders.api` on PORTS.staff_api.

GET /health is open; everything under /api/ except /api/login and /api/openapi.json needs
`Authorization: Bearer <token>` from POST /api/login. Errors are JSON {"error": code, "message": 中文}.
The OpenAPI 3 document (GET /api/openapi.json) is built from DOCS below plus every route the
app serves (catalogue routes and static files included), so it cannot silently miss one.
"""
from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import os
from functools import wraps

from aiohttp import web

from common.settings import PORTS, ROOT, redis_url
from workorders import auth, hotspots, kpi, scheduler
from workorders.model import ACTIONS, CATEGORIES, STATES, TYPES, URGENCIES, Forbidden, WorkOrderError
from workorders.service import WorkOrderService

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024
SVC = web.AppKey("svc", WorkOrderService)
USERS = web.AppKey("users", dict)
SIGNER = web.AppKey("signer", auth.TokenSigner)
DUMMY_HASH = web.AppKey("dummy_hash", str)
CONSOLES = ROOT / "consoles"
API_ACTIONS = tuple(a for a in ACTIONS if a != "warn")  # 预警 is raised by the scheduler only
ACTION_FIELDS = {"unit_id", "co_unit_ids", "reply", "reason", "note", "satisfied", "master_id", "level",
                 "channel", "answer", "force", "department"}


def error(status: int, code: str, message: str, **details) -> web.Response:
    body = {"error": code, "message": message}
    if details:
        body["details"] = details
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def ok(data, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False, default=str))


@web.middleware
async def errors_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except WorkOrderError as exc:
        return error(exc.status, exc.code, exc.message, **exc.details)
    except web.HTTPRequestEntityTooLarge:
        return error(413, "body_too_large", f"请求内容过大（上限 {MAX_BODY // 1024} KB）。")
    except web.HTTPNotFound:
        return error(404, "not_found", "没有这个地址。")
    except web.HTTPMethodNotAllowed as exc:
        return error(405, "method_not_allowed", f"不支持 {request.method} 方法。", allowed=sorted(exc.allowed_methods))
    except web.HTTPException:
        raise
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - last resort: never leak a traceback
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error(500, "internal_error", "系统内部错误，请稍后重试。")


async def json_body(request: web.Request, required: bool = True) -> dict:
    if not request.can_read_body:
        if required:
            raise WorkOrderError("body_required", "请求需要 JSON 内容。", 400)
        return {}
    raw = await request.read()  # raises HTTPRequestEntityTooLarge over client_max_size
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise WorkOrderError("bad_json", "请求内容不是有效的 JSON。", 400) from None
    if not isinstance(data, dict):
        raise WorkOrderError("bad_json", "请求内容必须是 JSON 对象。", 400)
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
            user = request.app[USERS].get(claims["sub"])
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


# --- handlers ----------------------------------------------------------------------------------
async def health(request):
    return ok({"status": "ok"})


async def login(request):
    data = await json_body(request)
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise WorkOrderError("credentials_required", "请输入用户名和密码。", 400)
    user = request.app[USERS].get(username)
    loop = asyncio.get_running_loop()
    stored = user.password_hash if user else request.app[DUMMY_HASH]  # same cost for unknown users
    good = await loop.run_in_executor(None, auth.check_password, password, stored)
    if not user or not good:
        raise WorkOrderError("bad_credentials", "用户名或密码错误。", 401)
    token, exp = request.app[SIGNER].issue(user)
    return ok({"token": token, "token_type": "Bearer", "expires_at": exp, "user": _me(user)})


def _me(user) -> dict:
    return {"username": user.username, "role": user.role, "unit_id": user.unit_id, "name": user.name}


@requires()
async def me(request):
    return ok(_me(request["user"]))


def _str(data: dict, key: str, limit: int = 200):
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise WorkOrderError("bad_field", f"字段 {key} 格式不正确。", 400)
    value = str(value).strip()
    if len(value) > limit:
        raise WorkOrderError("bad_field", f"字段 {key} 过长。", 400)
    return value or None


@requires(auth.CREATE_ROLES)
async def create_order(request):
    data = await json_body(request)
    svc = request.app[SVC]
    caller = data.get("caller") or {}
    place = data.get("place") or {}
    if not isinstance(caller, dict) or not isinstance(place, dict):
        raise WorkOrderError("bad_field", "caller 和 place 必须是对象。", 400)
    co = data.get("co_unit_ids") or []
    if not isinstance(co, list):
        raise WorkOrderError("bad_field", "co_unit_ids 必须是列表。", 400)
    text = data.get("text")
    if not isinstance(text, str):
        raise WorkOrderError("text_required", "请填写诉求内容。", 400)
    order = await svc.create(
        text, channel=_str(data, "channel") or "api",
        caller_name=_str(caller, "name", 50), caller_phone=_str(caller, "phone", 30),
        caller_id_number=_str(caller, "id_number", 30), address_detail=_str(caller, "address_detail", 200),
        place={k: _str(place, k, 50) for k in ("county", "township", "village")},
        category=_str(data, "category"), type=_str(data, "type"), urgency=_str(data, "urgency"),
        emotion=_str(data, "emotion"), matter_id=_str(data, "matter_id"), title=_str(data, "title"),
        client_request_id=_str(data, "client_request_id", 128) or request.headers.get("Idempotency-Key"),
        actor=request["actor"], instant_answer=_str(data, "instant_answer", 2000),
        unit_id=_str(data, "unit_id"), co_unit_ids=[str(u) for u in co])
    created = order.get("_created", True)
    view = svc.present(order, request["actor"], reveal_id=created and request["user"].role == "clerk")
    view["created"] = created
    return ok(view, status=201 if created else 200)


def _bool(value: str | None, name: str):
    if value is None:
        return None
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise WorkOrderError("bad_query", f"参数 {name} 只能是 true 或 false。", 400)


def _int(value: str | None, name: str, default: int, lo: int, hi: int) -> int:
    if value is None:
        return default
    try:
        n = int(value)
    except ValueError:
        raise WorkOrderError("bad_query", f"参数 {name} 必须是整数。", 400) from None
    if not lo <= n <= hi:
        raise WorkOrderError("bad_query", f"参数 {name} 应在 {lo} 到 {hi} 之间。", 400)
    return n


def _time(value: str | None, name: str):
    if not value:
        return None
    from workorders.lifecycle import parse_time

    try:
        return parse_time(value).isoformat()
    except ValueError:
        raise WorkOrderError("bad_query", f"参数 {name} 应为日期，如 2026-03-01。", 400) from None


@requires()
async def list_orders(request):
    q = request.query
    for name, allowed in (("state", STATES), ("category", CATEGORIES), ("type", TYPES), ("urgency", URGENCIES)):
        if q.get(name) and q[name] not in allowed:
            raise WorkOrderError("bad_query", f"参数 {name} 只能是：{'、'.join(allowed)}。", 400)
    svc = request.app[SVC]
    res = await svc.list(state=q.get("state"), unit=q.get("unit"), category=q.get("category"), type=q.get("type"),
                         urgency=q.get("urgency"), township=q.get("township"), village=q.get("village"),
                         overdue=_bool(q.get("overdue"), "overdue"), since=_time(q.get("since"), "since"),
                         until=_time(q.get("until"), "until"), text=q.get("q") or q.get("text"),
                         viewer=request["actor"], limit=_int(q.get("limit"), "limit", 50, 1, 500),
                         offset=_int(q.get("offset"), "offset", 0, 0, 10 ** 7))
    return ok({"total": res["total"], "items": [svc.present(o, request["actor"]) for o in res["items"]]})


async def _visible(request) -> dict:
    svc = request.app[SVC]
    order = await svc.get(request.match_info["order_id"])
    if not auth.can_view(request["actor"], order):
        raise Forbidden("not_your_unit", "该工单不属于本单位，无权查看。")
    return order


@requires()
async def get_order(request):
    order = await _visible(request)
    return ok(request.app[SVC].present(order, request["actor"]))


@requires()
async def order_action(request):
    action = request.match_info["action"]
    if action not in API_ACTIONS:
        raise WorkOrderError("unknown_action", f"不支持的操作：{action}", 404, allowed=list(API_ACTIONS))
    await _visible(request)
    data = await json_body(request, required=False)
    unknown = set(data) - ACTION_FIELDS
    if unknown:
        raise WorkOrderError("bad_field", f"不认识的字段：{'、'.join(sorted(unknown))}", 400)
    if "co_unit_ids" in data and not isinstance(data["co_unit_ids"], list):
        raise WorkOrderError("bad_field", "co_unit_ids 必须是列表。", 400)
    if "force" in data and request["user"].role not in ("supervisor", "admin"):
        raise Forbidden("forbidden", "只有督办人员可以强制归档。")
    svc = request.app[SVC]
    order = await svc.transition(request.match_info["order_id"], action, request["actor"], **data)
    return ok(svc.present(order, request["actor"]))


@requires()
async def order_events(request):
    await _visible(request)
    return ok({"events": await request.app[SVC].events(request.match_info["order_id"])})


@requires(auth.ANALYTICS_ROLES)
async def verify_order(request):
    await request.app[SVC].get(request.match_info["order_id"])
    return ok((await request.app[SVC].verify(request.match_info["order_id"])).to_dict())


@requires(auth.ANALYTICS_ROLES | {"unit_handler"})
async def get_kpi(request):
    q = request.query
    group_by = q.get("group_by", "unit")
    if group_by not in ("unit", "department"):
        raise WorkOrderError("bad_query", "参数 group_by 只能是 unit 或 department。", 400)
    unit = request["user"].unit_id if request["user"].role == "unit_handler" else q.get("unit")
    return ok(await kpi.kpi_report(request.app[SVC], group_by, _time(q.get("since"), "since"),
                                   _time(q.get("until"), "until"), unit=unit))


@requires(auth.ANALYTICS_ROLES)
async def get_hotspots(request):
    q = request.query
    report = await hotspots.hotspots_report(request.app[SVC], weeks=_int(q.get("weeks"), "weeks", 8, 2, 104))
    fmt = q.get("format", "json")
    if fmt == "csv":
        return web.Response(text=hotspots.to_csv(report), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": 'attachment; filename="hotspots.csv"'})
    if fmt != "json":
        raise WorkOrderError("bad_query", "参数 format 只能是 json 或 csv。", 400)
    return ok(report)


@requires(frozenset({"supervisor", "dispatcher", "admin"}))
async def supervision(request):
    limit = _int(request.query.get("limit"), "limit", 200, 1, 1000)
    return ok({"items": await request.app[SVC].store.supervision_queue(limit)})


def _directory(request):
    d = request.app[SVC].directory
    if d is None:
        raise WorkOrderError("directory_unavailable", "单位名录暂不可用。", 503)
    return d


@requires()
async def directory_units(request):
    d = _directory(request)
    q = request.query
    units = d.find(department=q.get("department"), level=q.get("level")) if hasattr(d, "find") else list(d.units)
    if q.get("place_id"):
        units = [u for u in units if u.place_id == q["place_id"]]
    limit = _int(q.get("limit"), "limit", 200, 1, 5000)
    return ok({"total": len(units), "items": [u.to_dict() for u in units[:limit]]})


@requires()
async def directory_unit(request):
    unit = _directory(request).get(request.match_info["unit_id"])
    if unit is None:
        raise WorkOrderError("unit_not_found", f"找不到单位 {request.match_info['unit_id']}。", 404)
    return ok(unit.to_dict())


BOT_SENDER_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


@requires(frozenset({"clerk", "dispatcher", "admin"}))
async def bot_message(request):
    """Front-desk side panel: relay one message to Rasa's REST channel (same origin, no CORS).
    The sender id is namespaced by the logged-in user so a console cannot read other trackers."""
    import aiohttp

    from common.settings import rasa_url

    data = await json_body(request)
    message, session = data.get("message"), data.get("session")
    if not isinstance(message, str) or not message.strip() or len(message) > 500:
        raise WorkOrderError("message_required", "请输入要发给机器人的话（500字以内）。", 400)
    if not isinstance(session, str) or not 4 <= len(session) <= 64 or set(session) - BOT_SENDER_CHARS:
        raise WorkOrderError("bad_field", "session 必须是 4-64 位字母数字。", 400)
    sender = f"frontdesk-{request['user'].username}-{session}"
    payload = {"sender": sender, "message": message.strip(),
               "metadata": {"channel": "frontdesk", "caller": None, "speech_rate": "normal"}}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            async with http.post(f"{rasa_url()}/webhooks/rest/webhook", json=payload) as resp:
                if resp.status != 200:
                    raise WorkOrderError("bot_unavailable", "对话机器人暂时不可用，请稍后重试。", 502)
                replies = await resp.json(content_type=None)
    except (aiohttp.ClientError, asyncio.TimeoutError):
        raise WorkOrderError("bot_unavailable", "对话机器人暂时不可用，请稍后重试。", 502) from None
    replies = replies if isinstance(replies, list) else []
    texts = [m["text"] for m in replies if isinstance(m, dict) and isinstance(m.get("text"), str)]
    return ok({"sender": sender, "messages": replies, "suggested": texts[-1] if texts else None})


async def openapi(request):
    return ok(build_openapi(request.app))


async def console_index(request):
    return web.FileResponse(CONSOLES / "index.html")


# --- OpenAPI -----------------------------------------------------------------------------------
ORDER_ID = {"name": "order_id", "in": "path", "required": True, "schema": {"type": "string"},
            "description": "工单号, e.g. 12345202603020001"}
ERRORS = {str(c): {"$ref": f"#/components/responses/E{c}"} for c in (400, 401, 403, 404, 409, 413)}
DOCS: dict[tuple[str, str], dict] = {
    ("GET", "/health"): {"summary": "Liveness (no auth)", "auth": False},
    ("POST", "/api/login"): {"summary": "Log in; returns a bearer token", "auth": False,
                             "body": {"username": "string", "password": "string"}},
    ("GET", "/api/me"): {"summary": "The logged-in user"},
    ("GET", "/api/openapi.json"): {"summary": "This document (no auth)", "auth": False},
    ("POST", "/api/orders"): {"summary": "Create (受理) a work order; idempotent by client_request_id",
                              "roles": sorted(auth.CREATE_ROLES),
                              "body": {"text": "string", "channel": "string", "caller": "object", "place": "object",
                                       "category": "string", "type": "string", "urgency": "string",
                                       "emotion": "string", "matter_id": "string", "title": "string",
                                       "client_request_id": "string", "instant_answer": "string",
                                       "unit_id": "string", "co_unit_ids": "array"}},
    ("GET", "/api/orders"): {"summary": "List/filter orders (unit handlers see their unit only)",
                             "query": ["state", "unit", "category", "type", "urgency", "township", "village",
                                       "overdue", "since", "until", "q", "limit", "offset"]},
    ("GET", "/api/orders/{order_id}"): {"summary": "One order (masked by role)", "path": [ORDER_ID]},
    ("POST", "/api/orders/{order_id}/actions/{action}"): {
        "summary": "Lifecycle action: " + ", ".join(API_ACTIONS), "path": [ORDER_ID, {
            "name": "action", "in": "path", "required": True, "schema": {"type": "string", "enum": list(API_ACTIONS)}}],
        "body": {k: "string" for k in sorted(ACTION_FIELDS)}},
    ("GET", "/api/orders/{order_id}/events"): {"summary": "The order's hash-chained events", "path": [ORDER_ID]},
    ("GET", "/api/orders/{order_id}/verify"): {"summary": "Verify the hash chain", "path": [ORDER_ID],
                                               "roles": sorted(auth.ANALYTICS_ROLES)},
    ("GET", "/api/kpi"): {"summary": "KPIs per unit or department", "query": ["group_by", "since", "until", "unit"],
                          "roles": sorted(auth.ANALYTICS_ROLES | {"unit_handler"})},
    ("GET", "/api/hotspots"): {"summary": "Hot spots and rising trends (?format=csv)", "query": ["weeks", "format"],
                               "roles": sorted(auth.ANALYTICS_ROLES)},
    ("GET", "/api/supervision"): {"summary": "Supervision queue (督办/预警/整改)", "query": ["limit"],
                                  "roles": ["admin", "dispatcher", "supervisor"]},
    ("GET", "/api/directory/units"): {"summary": "Organisation directory units",
                                      "query": ["department", "level", "place_id", "limit"]},
    ("GET", "/api/directory/units/{unit_id}"): {"summary": "One unit", "path": [
        {"name": "unit_id", "in": "path", "required": True, "schema": {"type": "string"}}]},
    ("POST", "/api/bot/message"): {"summary": "Front desk: relay a message to the bot (Rasa REST, channel frontdesk)",
                                   "roles": ["admin", "clerk", "dispatcher"],
                                   "body": {"message": "string", "session": "string"}},
    ("GET", "/"): {"summary": "Staff consoles (static)", "auth": False},
}


def served_routes(app: web.Application) -> list[tuple[str, str]]:
    out = set()
    for route in app.router.routes():
        if route.method in ("HEAD", "OPTIONS"):
            continue
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or (info.get("prefix", "") + "/{filename}")
        out.add((route.method, path))
    return sorted(out)


def build_openapi(app: web.Application) -> dict:
    paths: dict = {}
    for method, path in served_routes(app):
        doc = DOCS.get((method, path), {"summary": "Mounted route (catalogue or static files)", "auth": False})
        op = {"summary": doc["summary"], "responses": {"200": {"description": "OK"}, **ERRORS}}
        params = list(doc.get("path", []))
        if not doc.get("path"):
            params += [{"name": n.strip("{}"), "in": "path", "required": True, "schema": {"type": "string"}}
                       for n in path.split("/") if n.startswith("{")]
        params += [{"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
                   for n in doc.get("query", [])]
        if params:
            op["parameters"] = params
        if doc.get("body"):
            op["requestBody"] = {"content": {"application/json": {"schema": {
                "type": "object", "properties": {k: {"type": t} for k, t in doc["body"].items()}}}}}
        if doc.get("auth", True):
            op["security"] = [{"bearer": []}]
            if doc.get("roles"):
                op["x-roles"] = doc["roles"]
        else:
            op["security"] = []
        paths.setdefault(path, {})[method.lower()] = op
    err = {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "政务智能前台 staff API (12345 work orders)", "version": "1.0.0"},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "required": ["error", "message"], "properties": {
                "error": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}}}},
            "responses": {f"E{c}": err for c in (400, 401, 403, 404, 409, 413)},
        },
    }


# --- app ---------------------------------------------------------------------------------------
def create_app(service: WorkOrderService | None = None, users: dict | None = None,
               signer: auth.TokenSigner | None = None, run_scheduler: bool | None = None,
               mount_extras: bool = True) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[errors_middleware])
    app[SVC] = service or WorkOrderService.from_url(redis_url())
    app[USERS] = users if users is not None else auth.load_users()
    app[SIGNER] = signer or auth.TokenSigner()
    app[DUMMY_HASH] = auth.hash_password("not-a-user")
    r = app.router
    r.add_get("/health", health)
    r.add_post("/api/login", login)
    r.add_get("/api/me", me)
    r.add_get("/api/openapi.json", openapi)
    r.add_post("/api/orders", create_order)
    r.add_get("/api/orders", list_orders)
    r.add_get("/api/orders/{order_id}", get_order)
    r.add_post("/api/orders/{order_id}/actions/{action}", order_action)
    r.add_get("/api/orders/{order_id}/events", order_events)
    r.add_get("/api/orders/{order_id}/verify", verify_order)
    r.add_get("/api/kpi", get_kpi)
    r.add_get("/api/hotspots", get_hotspots)
    r.add_get("/api/supervision", supervision)
    r.add_get("/api/directory/units", directory_units)
    r.add_get("/api/directory/units/{unit_id}", directory_unit)
    r.add_post("/api/bot/message", bot_message)
    if mount_extras:
        if importlib.util.find_spec("catalogue") and importlib.util.find_spec("catalogue.http"):
            from catalogue.http import setup_routes

            setup_routes(app)
        if (CONSOLES / "index.html").exists():
            r.add_get("/", console_index)
            r.add_static("/", CONSOLES)  # last: only paths no API route matched
    if run_scheduler is None:
        run_scheduler = os.environ.get("WORKORDER_SCHEDULER", "1") != "0"
    if run_scheduler:
        scheduler.start(app, SVC)

    async def _close(app):
        await app[SVC].redis.close()

    app.on_cleanup.append(_close)
    return app


def main() -> None:
    from common.privacy import install_log_masking

    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    install_log_masking()
    web.run_app(create_app(), host=os.environ.get("STAFF_API_HOST", "0.0.0.0"),
                port=int(os.environ.get("STAFF_API_PORT", PORTS.staff_api)), access_log=None)


if __name__ == "__main__":
    main()
