"""Staff API (aiohttp) for 12345 work orders: `python -m staffapi` on PORTS.staff_api.

GET /health is open; everything under /api/ except /api/login and /api/openapi.json needs
`Authorization: Bearer <token>` from POST /api/login. Errors are JSON {"error": code, "message": 中文}
with a 4xx status for anything the client sent (429 and 503 carry Retry-After); a 5xx only for a
real server fault. Request bodies are capped at MAX_BODY (413), JSON bodies must be objects nested at
most apischema.MAX_DEPTH deep and match the schema of their route (staffapi/apischema.py), which is
also what the OpenAPI document (GET /api/openapi.json) shows. The document is built from DOCS below
plus every route the app serves (catalogue routes and static files included), so it cannot silently
miss one.

Staff login (workorders/login_guard.py): per-username and per-IP lockout kept in Redis, one audit
line per attempt. Staff accounts come from workorders/auth.py (demo accounts only with GOVDESK_DEMO=1).
"""
from __future__ import annotations

import asyncio
import json
import logging
import mimetypes
import os
from functools import wraps

from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from common.privacy import load_secret, mask_text
from catalogue.loader import load_catalogue
from clients.rasa import RasaClient, RasaUnavailable
from common.settings import PORTS, ROOT, rasa_url, redis_url
from staffapi import apischema, scheduler_glue
from workorders import auth, hotspots, kpi
from workorders.csvsafe import neutralise_csv
from workorders.login_guard import LoginGuard, Limits, audit, client_ip, mask_username
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
CONSOLES = ROOT / "consoles"
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
    except (RedisConnectionError, RedisTimeoutError):
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


# --- handlers ----------------------------------------------------------------------------------
async def health(request):
    return ok({"status": "ok"})


async def login(request):
    ip = client_ip(request)
    try:
        data = await json_body(request)
        apischema.check_body(apischema.LOGIN, data)
    except WorkOrderError as exc:
        audit.warning("event=login_failure user=- ip=%s reason=%s", ip, exc.code)
        raise
    username, password = data["username"], data["password"]
    users = request.app[USERS]
    if not users:
        audit.error("event=login_failure user=%s ip=%s reason=no_accounts", mask_username(username), ip)
        raise WorkOrderError("no_accounts", "系统尚未配置工作人员账号，请联系系统管理员。", 503, retry_after=300)
    guard = request.app[GUARD]
    tries = await guard.attempt(username, ip)  # 429 while the username or this IP is locked: no password check
    user = users.get(username)
    loop = asyncio.get_running_loop()
    stored = user.password_hash if user else request.app[DUMMY_HASH]  # same cost for unknown users
    good = await loop.run_in_executor(None, auth.check_password, password, stored)
    if not user or not good:
        left = await guard.failed(username, ip, tries, "unknown_user" if user is None else "bad_password")
        raise WorkOrderError("bad_credentials", f"用户名或密码错误，还可尝试 {left} 次。" if left <= 3
                             else "用户名或密码错误。", 401, attempts_left=left)
    await guard.succeeded(username, ip, user.role)
    token, exp = request.app[SIGNER].issue(user)
    return ok({"token": token, "token_type": "Bearer", "expires_at": exp, "user": _me(user)})


def _me(user) -> dict:
    return {"username": user.username, "role": user.role, "unit_id": user.unit_id, "name": user.name}


@requires()
async def me(request):
    return ok(_me(request["user"]))


def _clean(value, limit: int | None = None):
    """A schema-checked optional string: stripped, None when empty."""
    if value is None:
        return None
    value = str(value).strip()
    return (value[:limit] if limit else value) or None


async def _check_units(request, unit_ids) -> None:
    """400 for a unit id that is neither in the directory nor the unit of a staff account."""
    ids = [u for u in unit_ids if u]
    if not ids:
        return
    directory = request.app[SVC].directory
    staff_units = {u.unit_id for u in request.app[USERS].values() if u.unit_id}
    if directory is None:  # cannot tell: never route an order where no inbox may ever show it
        if any(u not in staff_units for u in ids):
            raise WorkOrderError("directory_unavailable", "单位名录暂不可用，无法核对承办单位，请稍后再派单。", 503,
                                 retry_after=60)
        return
    unknown = [u for u in ids if u not in staff_units and directory.get(u) is None]
    if unknown:
        raise WorkOrderError("unknown_unit", f"找不到承办单位：{'、'.join(unknown)}。请从单位名录中选择。", 400,
                             unit_ids=unknown)


@requires(auth.CREATE_ROLES)
async def create_order(request):
    data = await json_body(request)
    apischema.check_body(apischema.CREATE_ORDER, data)
    svc = request.app[SVC]
    caller = data.get("caller") or {}
    place = data.get("place") or {}
    co = data.get("co_unit_ids") or []
    await _check_units(request, [data.get("unit_id"), *co])
    title, instant = _clean(data.get("title")), _clean(data.get("instant_answer"))
    order = await svc.create(
        data["text"], channel=_clean(data.get("channel")) or "api",
        caller_name=_clean(caller.get("name")), caller_phone=_clean(caller.get("phone")),
        caller_id_number=_clean(caller.get("id_number")), address_detail=_clean(caller.get("address_detail")),
        place={k: _clean(place.get(k)) for k in ("county", "township", "village")},
        category=data.get("category"), type=data.get("type"), urgency=data.get("urgency"),
        emotion=data.get("emotion"), matter_id=_clean(data.get("matter_id")),
        title=mask_text(title) if title else None,
        client_request_id=_clean(data.get("client_request_id")) or _clean(request.headers.get("Idempotency-Key"), 128),
        actor=request["actor"], instant_answer=mask_text(instant) if instant else None,
        unit_id=_clean(data.get("unit_id")), co_unit_ids=[str(u) for u in co])
    created = order.get("_created", True)
    view = svc.present(order, request["actor"], reveal_id=created and request["user"].role == "clerk")
    view["created"] = created
    return ok(view, status=201 if created else 200)


@requires(auth.CREATE_ROLES)
async def correct_order(request):
    """更正登记: the front desk corrects a registration it submitted, on the same order, while it is
    still 受理 (409 once dispatched). Body: the corrected form (text, title, caller, place)."""
    await _visible(request)
    data = await json_body(request)
    apischema.check_body(apischema.CORRECT_ORDER, data)
    svc = request.app[SVC]
    caller = data.get("caller") or {}
    title = _clean(data.get("title"))
    order = await svc.correct(
        request.match_info["order_id"], request["actor"], text=data["text"], title=mask_text(title) if title else None,
        caller_name=_clean(caller.get("name")), caller_phone=_clean(caller.get("phone")),
        caller_id_number=_clean(caller.get("id_number")), address_detail=_clean(caller.get("address_detail")),
        place={k: _clean((data.get("place") or {}).get(k)) for k in ("county", "township", "village")}
        if data.get("place") is not None else None)
    return ok(svc.present(order, request["actor"], reveal_id=request["user"].role == "clerk"))


# --- front desk of the seed: queue and number calling, material photos, signature, 好差评 ------------
FRONTDESK_ROLES = frozenset({"clerk", "dispatcher", "admin"})


@requires(FRONTDESK_ROLES)
async def queue_status(request):
    return ok(await request.app[SVC].queue_status())


@requires(FRONTDESK_ROLES)
async def queue_ticket(request):
    data = await json_body(request)
    apischema.check_body(apischema.QUEUE_TICKET, data)
    return ok(await request.app[SVC].take_ticket(data["window"], bool(data.get("elderly"))), status=201)


@requires(FRONTDESK_ROLES)
async def queue_call(request):
    data = await json_body(request)
    apischema.check_body(apischema.QUEUE_CALL, data)
    called = await request.app[SVC].call_next(data["window"], request["actor"])
    if called is None:
        raise WorkOrderError("queue_empty", "这个窗口没有人在排队。", 409)
    return ok(called)


async def _image_body(request: web.Request) -> bytes:
    """The raw image of an upload, read up to MAX_UPLOAD (413 beyond, also without Content-Length)."""
    chunks, total = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        total += len(chunk)
        if total > MAX_UPLOAD:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_UPLOAD, actual_size=total)
        chunks.append(chunk)
    return b"".join(chunks)


@requires(FRONTDESK_ROLES)
async def upload_material(request):
    """A photo of one checklist item (query item=材料名称), the raw JPEG/PNG/WebP as the body."""
    await _visible(request)
    q = apischema.parse_query(apischema.MATERIAL_QUERY, request.query)
    svc = request.app[SVC]
    order = await svc.attach(request.match_info["order_id"], request["actor"], "material", await _image_body(request),
                             item=q["item"])
    return ok(svc.present(order, request["actor"]), status=201)


@requires(FRONTDESK_ROLES)
async def upload_signature(request):
    """The resident's signature on the receipt: the raw PNG drawn on the tablet, once per order."""
    await _visible(request)
    svc = request.app[SVC]
    order = await svc.attach(request.match_info["order_id"], request["actor"], "signature", await _image_body(request))
    return ok(svc.present(order, request["actor"]), status=201)


@requires()
async def get_attachment(request):
    """A material photo (material-{n}) or the signature, decrypted, for whoever may see the order."""
    order = await _visible(request)
    name = request.match_info["name"]
    if name != "signature" and not (name.startswith("material-") and name[9:].isdigit()):
        raise WorkOrderError("attachment_not_found", "没有这个附件。", 404)
    data, ctype = await request.app[SVC].attachment(order, name)
    return web.Response(body=data, content_type=ctype, headers={"Cache-Control": "no-store"})


@requires(FRONTDESK_ROLES)
async def desk_rating(request):
    await _visible(request)
    data = await json_body(request)
    apischema.check_body(apischema.DESK_RATING, data)
    svc = request.app[SVC]
    order = await svc.rate_desk(request.match_info["order_id"], request["actor"], data["level"])
    return ok(svc.present(order, request["actor"]))


@requires()
async def list_orders(request):
    q = apischema.parse_query(apischema.ORDERS_QUERY, request.query)
    text = q["q"] or request.query.get("text")
    if text and len(text) > 200:
        raise WorkOrderError("bad_query", "参数 q 不能超过 200 个字。", 400)
    svc = request.app[SVC]
    res = await svc.list(state=q["state"], unit=q["unit"], category=q["category"], type=q["type"],
                         urgency=q["urgency"], township=q["township"], village=q["village"],
                         overdue=q["overdue"], since=q["since"], until=q["until"], text=text or None,
                         viewer=request["actor"], limit=q["limit"], offset=q["offset"])
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
    apischema.check_body(apischema.ACTION, data)
    data = {k: v for k, v in data.items() if v is not None}
    if "force" in data and request["user"].role not in ("supervisor", "admin"):
        raise Forbidden("forbidden", "只有督办人员可以强制归档。")
    await _check_units(request, [data.get("unit_id"), *(data.get("co_unit_ids") or [])])
    for name in FREE_TEXT_FIELDS:  # ID numbers and phones typed by staff are never stored in clear
        if isinstance(data.get(name), str):
            data[name] = mask_text(data[name])
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
    q = apischema.parse_query(apischema.KPI_QUERY, request.query)
    unit = request["user"].unit_id if request["user"].role == "unit_handler" else q["unit"]
    report = await kpi.kpi_report(request.app[SVC], q["group_by"], q["since"], q["until"], unit=unit)
    if q["group_by"] == "department":  # people read 公安, not gongan
        names = _department_names()
        for row in report["rows"]:
            row["name"] = names.get(row["key"], row["key"])
    return ok(report)


_DEPARTMENT_NAMES: dict[str, str] = {}


def _department_names() -> dict[str, str]:
    """Directory department id -> Chinese name (workorders/data/departments.yaml), read once."""
    if not _DEPARTMENT_NAMES:
        from workorders.directory import load_departments

        try:
            _DEPARTMENT_NAMES.update({d["id"]: d["name"] for d in load_departments()})
        except Exception:  # noqa: BLE001 - names are a nicety: the codes still identify the rows
            log.exception("departments could not be loaded")
    return _DEPARTMENT_NAMES


HOTSPOT_DIMENSIONS = {"category": "分类", "matter": "事项", "township": "乡镇", "village": "村（社区）"}


def _matter_name(matter_id: str) -> str:
    try:
        from catalogue.loader import load_catalogue

        matter = load_catalogue(strict=False).get(matter_id)
    except Exception:  # noqa: BLE001 - an unknown id or no catalogue: the id itself
        matter = None
    name = getattr(matter, "name", None) or (matter.get("name") if isinstance(matter, dict) else None)
    return name or matter_id


def _week_label(week: str) -> str:
    """ISO week "2026-W45" -> "11月2日—11月8日" (Monday to Sunday)."""
    from datetime import date, timedelta

    try:
        year, num = week.split("-W")
        monday = date.fromisocalendar(int(year), int(num), 1)
    except ValueError:
        return week
    sunday = monday + timedelta(days=6)
    return f"{monday.month}月{monday.day}日—{sunday.month}月{sunday.day}日"


def hotspots_csv(report: dict) -> str:
    """The hot-spot report as a spreadsheet for people: Chinese headers, matter names, weeks as dates."""
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["维度", "名称", *[_week_label(w) for w in report["weeks"]], "合计", "本周", "前4周均值", "是否上升"])
    for dim, rows in report["by"].items():
        for r in rows:
            key = _matter_name(r["key"]) if dim == "matter" else r["key"]
            writer.writerow([HOTSPOT_DIMENSIONS.get(dim, dim), key, *[r["weeks"][w] for w in report["weeks"]],
                             r["total"], r["this_week"], r["baseline_mean"], "上升" if r["rising"] else ""])
    return "\ufeff" + buf.getvalue()  # BOM: Excel opens UTF-8 Chinese correctly


@requires(auth.ANALYTICS_ROLES)
async def get_hotspots(request):
    q = apischema.parse_query(apischema.HOTSPOTS_QUERY, request.query)
    report = await hotspots.hotspots_report(request.app[SVC], weeks=q["weeks"])
    if q["format"] == "csv":
        # Village names and matter ids come from callers and staff: no cell may start a formula.
        return web.Response(text=neutralise_csv(hotspots_csv(report)), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": 'attachment; filename="hotspots.csv"'})
    return ok(report)


@requires(frozenset({"supervisor", "dispatcher", "admin"}))
async def supervision(request):
    q = apischema.parse_query(apischema.SUPERVISION_QUERY, request.query)
    return ok({"items": await request.app[SVC].store.supervision_queue(q["limit"])})


def _directory(request):
    d = request.app[SVC].directory
    if d is None:
        raise WorkOrderError("directory_unavailable", "单位名录暂不可用。", 503, retry_after=60)
    return d


@requires()
async def directory_units(request):
    q = apischema.parse_query(apischema.UNITS_QUERY, request.query)
    d = _directory(request)
    if hasattr(d, "find"):
        try:
            units = d.find(department=q["department"], level=q["level"])
        except ValueError as exc:  # DirectoryError: unknown level (the schema already checks it)
            raise WorkOrderError("bad_query", f"参数不正确：{exc}", 400) from None
    else:
        units = list(d.units)
    if q["place_id"]:
        units = [u for u in units if u.place_id == q["place_id"]]
    return ok({"total": len(units), "items": [u.to_dict() for u in units[:q["limit"]]]})


@requires()
async def directory_unit(request):
    unit = _directory(request).get(request.match_info["unit_id"])
    if unit is None:
        raise WorkOrderError("unit_not_found", f"找不到单位 {request.match_info['unit_id']}。", 404)
    return ok(unit.to_dict())


@requires(frozenset({"clerk", "dispatcher", "admin"}))
async def bot_message(request):
    """Front-desk side panel: relay one message to Rasa's REST channel (same origin, no CORS).
    The sender id is namespaced by the logged-in user so a console cannot read other trackers."""
    data = await json_body(request)
    apischema.check_body(apischema.BOT_MESSAGE, data)
    message, session = data["message"], data["session"]
    sender = f"frontdesk-{request['user'].username}-{session}"
    payload = {"sender": sender, "message": message.strip(),
               "metadata": {"channel": "frontdesk", "caller": None, "speech_rate": "normal"}}
    try:
        replies = await request.app[RASA].send(payload["sender"], payload["message"], payload["metadata"])
    except RasaUnavailable:
        raise WorkOrderError("bot_unavailable", "对话机器人暂时不可用，请稍后重试。", 502) from None
    texts = [m["text"] for m in replies if isinstance(m, dict) and isinstance(m.get("text"), str)]
    return ok({"sender": sender, "messages": replies, "suggested": texts[-1] if texts else None})


async def openapi(request):
    return ok(build_openapi(request.app))


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


# --- OpenAPI -----------------------------------------------------------------------------------
ORDER_ID = {"name": "order_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64},
            "description": "工单号, e.g. 12345202603020001"}
ERROR_STATUSES = {400: "Bad request (JSON error body)", 401: "Not logged in or bad token",
                  403: "Role or unit not allowed", 404: "Not found", 409: "Not allowed in the order's state",
                  413: "Request body over 64 KB (1 MB for an image upload)", 415: "Not an accepted image type",
                  422: "Not within 12345's remit",
                  429: "Too many failed logins: locked (Retry-After)", 502: "The bot is unavailable",
                  503: "Storage or directory unavailable (Retry-After)"}
BASE_ERRORS = (400, 404, 413, 503)
# The created order's id feeds the order routes (OpenAPI links: stateful fuzzing follows them).
ORDER_LINKS = {name: {"operationId": op, "parameters": {"order_id": "$response.body#/id"}} for name, op in (
    ("GetOrder", "get_api_orders_order_id"), ("OrderAction", "post_api_orders_order_id_actions_action"),
    ("OrderEvents", "get_api_orders_order_id_events"), ("VerifyOrder", "get_api_orders_order_id_verify"))}
AUTH_ERRORS = (401, 403)
S = apischema
DOCS: dict[tuple[str, str], dict] = {
    ("GET", "/health"): {"summary": "Liveness (no auth)", "auth": False,
                         "ok": {"200": ("OK", {"type": "object", "required": ["status"], "properties": {
                             "status": {"type": "string", "enum": ["ok"]}}})}},
    ("POST", "/api/login"): {"summary": "Log in; returns a bearer token. 5 failures for a username (20 for a "
                                        "client address) lock it for 15 minutes (429 + Retry-After)",
                             "auth": False, "body": S.LOGIN, "errors": (401, 429), "ok": {"200": ("Token", S.TOKEN)}},
    ("GET", "/api/me"): {"summary": "The logged-in user", "ok": {"200": ("The user", S.ME)}},
    ("GET", "/api/openapi.json"): {"summary": "This document (no auth)", "auth": False},
    ("POST", "/api/orders"): {"summary": "Create (受理) a work order; idempotent by client_request_id "
                                         "(201 created, 200 when the request id was seen before)",
                              "roles": sorted(auth.CREATE_ROLES), "body": S.CREATE_ORDER, "errors": (409, 422),
                              "links": {"201": ORDER_LINKS, "200": ORDER_LINKS},
                              "ok": {"201": ("Created", S.CREATED_ORDER),
                                     "200": ("Already created by this client_request_id", S.CREATED_ORDER)}},
    ("GET", "/api/orders"): {"summary": "List/filter orders (unit handlers see their unit only)",
                             "query": S.ORDERS_QUERY, "ok": {"200": ("Orders", S.ORDER_LIST)}},
    ("GET", "/api/orders/{order_id}"): {"summary": "One order (masked by role)", "path": [ORDER_ID],
                                        "ok": {"200": ("The order", S.ORDER)}},
    ("POST", "/api/orders/{order_id}/actions/{action}"): {
        "summary": "Lifecycle action: " + ", ".join(API_ACTIONS) + ". Free text (reply, reason, note, answer) is "
                   "stored with ID numbers and phones masked; unit ids must be in the directory",
        "path": [ORDER_ID, {"name": "action", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": list(API_ACTIONS)}}],
        "body": S.ACTION, "body_required": False, "errors": (409,), "ok": {"200": ("The order after", S.ORDER)}},
    ("POST", "/api/orders/{order_id}/correct"): {
        "summary": "更正登记: replace text, title, caller and place of an order still 受理 (409 once dispatched; "
                   "a clerk corrects only what they registered)", "path": [ORDER_ID],
        "roles": sorted(auth.CREATE_ROLES), "body": S.CORRECT_ORDER, "errors": (409,),
        "ok": {"200": ("The corrected order", S.ORDER)}},
    ("POST", "/api/orders/{order_id}/materials"): {
        "summary": "Front desk: a photo of one material (?item=材料名称), the raw JPEG/PNG/WebP as the body (up to "
                   "1 MB; type read from the content), stored encrypted", "path": [ORDER_ID], "query": S.MATERIAL_QUERY,
        "roles": sorted(FRONTDESK_ROLES), "errors": (409, 415), "ok": {"201": ("The order", S.ORDER)}},
    ("POST", "/api/orders/{order_id}/signature"): {
        "summary": "Front desk: the resident's signature on the receipt, the raw PNG as the body (up to 200 KB), "
                   "once per order, stored encrypted", "path": [ORDER_ID], "roles": sorted(FRONTDESK_ROLES),
        "errors": (409, 415), "ok": {"201": ("The order", S.ORDER)}},
    ("GET", "/api/orders/{order_id}/attachments/{name}"): {
        "summary": "A material photo (material-1, material-2 ...) or the signature of an order, decrypted",
        "path": [ORDER_ID, {"name": "name", "in": "path", "required": True, "schema": {"type": "string"},
                            "example": "signature"}],
        "ok": {"200": ("The image", None, ("image/png", "image/jpeg", "image/webp"))}},
    ("POST", "/api/orders/{order_id}/desk-rating"): {
        "summary": "Front desk: the resident's 好差评 of the service at the desk (five levels), once per order",
        "path": [ORDER_ID], "roles": sorted(FRONTDESK_ROLES), "body": S.DESK_RATING, "errors": (409,),
        "ok": {"200": ("The order", S.ORDER)}},
    ("GET", "/api/queue"): {"summary": "Front desk queue: waiting tickets per window, the numbers called",
                            "roles": sorted(FRONTDESK_ROLES)},
    ("POST", "/api/queue/tickets"): {"summary": "Take a queue ticket for a window (老年人 are called first)",
                                     "roles": sorted(FRONTDESK_ROLES), "body": S.QUEUE_TICKET,
                                     "ok": {"201": ("The ticket", S.OBJECT)}},
    ("POST", "/api/queue/call"): {"summary": "Call the next ticket of a window (409 when nobody waits)",
                                  "roles": sorted(FRONTDESK_ROLES), "body": S.QUEUE_CALL, "errors": (409,)},
    ("GET", "/api/orders/{order_id}/events"): {
        "summary": "The order's hash-chained events", "path": [ORDER_ID],
        "ok": {"200": ("Events", {"type": "object", "required": ["events"],
                                  "properties": {"events": {"type": "array"}}})}},
    ("GET", "/api/orders/{order_id}/verify"): {
        "summary": "Verify the hash chain", "path": [ORDER_ID], "roles": sorted(auth.ANALYTICS_ROLES),
        "ok": {"200": ("Chain report", {"type": "object", "required": ["ok"],
                                        "properties": {"ok": {"type": "boolean"}}})}},
    ("GET", "/api/kpi"): {"summary": "KPIs per unit or department", "query": S.KPI_QUERY,
                          "roles": sorted(auth.ANALYTICS_ROLES | {"unit_handler"})},
    ("GET", "/api/hotspots"): {"summary": "Hot spots and rising trends (?format=csv: cells that could start a "
                                          "spreadsheet formula get a leading apostrophe)",
                               "query": S.HOTSPOTS_QUERY, "roles": sorted(auth.ANALYTICS_ROLES),
                               "ok": {"200": ("Report", S.OBJECT, ("application/json", "text/csv"))}},
    ("GET", "/api/supervision"): {"summary": "Supervision queue (督办/预警/整改)", "query": S.SUPERVISION_QUERY,
                                  "roles": ["admin", "dispatcher", "supervisor"],
                                  "ok": {"200": ("Queue", {"type": "object", "required": ["items"],
                                                           "properties": {"items": {"type": "array"}}})}},
    ("GET", "/api/directory/units"): {"summary": "Organisation directory units", "query": S.UNITS_QUERY,
                                      "ok": {"200": ("Units", S.UNIT_LIST)}},
    ("GET", "/api/directory/units/{unit_id}"): {"summary": "One unit", "path": [
        {"name": "unit_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "ok": {"200": ("The unit", S.UNIT)}},
    ("POST", "/api/bot/message"): {"summary": "Front desk: relay a message to the bot (Rasa REST, channel frontdesk)",
                                   "roles": ["admin", "clerk", "dispatcher"], "body": S.BOT_MESSAGE,
                                   "errors": (502,)},
    ("GET", "/api/catalogue/search"): {"summary": "Service catalogue search (no auth)", "auth": False,
                                       "query": S.CATALOGUE_SEARCH_QUERY},
    ("GET", "/api/catalogue/matters/{id}"): {"summary": "One catalogue matter (no auth)", "auth": False, "path": [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
         "example": "gongan.idcard_reissue"}]},
    ("GET", "/api/catalogue/departments"): {"summary": "Catalogue departments (no auth)", "auth": False},
    ("GET", "/"): {"summary": "Staff consoles (static)", "auth": False,
                   "ok": {"200": ("The consoles", None, ("text/html",))}},
    ("GET", "/{filename}"): {"summary": "Console static files", "auth": False, "errors": (403,), "path": [
        {"name": "filename", "in": "path", "required": True, "schema": {"type": "string"}, "example": "index.html"}],
                             "ok": {"200": ("A file", None, ())}},
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


def _operation_id(method: str, path: str) -> str:
    words = "_".join(w for w in "".join(ch if ch.isalnum() else " " for ch in path).split())
    return f"{method.lower()}_{words or 'root'}"


def _ok_response(description: str, schema, types=("application/json",)) -> dict:
    out = {"description": description}
    if types:
        out["content"] = {t: {"schema": apischema.apischema(schema) if schema and t == "application/json"
                              else {"type": "string"}} for t in types}
    return out


def build_openapi(app: web.Application) -> dict:
    paths: dict = {}
    for method, path in served_routes(app):
        doc = DOCS.get((method, path), {"summary": "Mounted route", "auth": False})
        authenticated = doc.get("auth", True)
        ok_docs = doc.get("ok", {"200": ("OK", apischema.OBJECT)})
        responses = {status: _ok_response(*spec) for status, spec in ok_docs.items()}
        for status, links in doc.get("links", {}).items():
            responses[status]["links"] = links
        statuses = set(BASE_ERRORS) | set(doc.get("errors", ())) | (set(AUTH_ERRORS) if authenticated else set())
        responses.update({str(c): {"$ref": f"#/components/responses/E{c}"} for c in sorted(statuses)})
        op = {"operationId": _operation_id(method, path), "summary": doc["summary"], "responses": responses}
        params = list(doc.get("path", []))
        if not doc.get("path"):
            params += [{"name": n.strip("{}"), "in": "path", "required": True, "schema": {"type": "string"}}
                       for n in path.split("/") if n.startswith("{")]
        params += doc.get("query", [])
        if params:
            op["parameters"] = apischema.apischema(params)
        if doc.get("body"):
            op["requestBody"] = {"required": doc.get("body_required", True), "content": {
                "application/json": {"schema": apischema.apischema(doc["body"])}}}
        if authenticated:
            op["security"] = [{"bearer": []}]
            if doc.get("roles"):
                op["x-roles"] = doc["roles"]
        else:
            op["security"] = []
        paths.setdefault(path, {})[method.lower()] = op
    err = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    retry = {"Retry-After": {"required": True, "description": "Seconds to wait before retrying",
                             "schema": {"type": "integer", "minimum": 0}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "政务智能前台 staff API (12345 work orders)", "version": "1.1.0",
                 "description": "Every error is JSON {error, message[, details]}: a 4xx for anything the client "
                                f"sent. Request bodies: at most {MAX_BODY // 1024} KB, a JSON object nested at most "
                                f"{apischema.MAX_DEPTH} deep."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": apischema.apischema(apischema.ERROR)},
            "responses": {f"E{c}": {"description": d, **err, **({"headers": retry} if c in (429, 503) else {})}
                          for c, d in ERROR_STATUSES.items()},
        },
    }


# --- app ---------------------------------------------------------------------------------------
def create_app(service: WorkOrderService | None = None, users: dict | None = None,
               signer: auth.TokenSigner | None = None, run_scheduler: bool | None = None,
               mount_extras: bool = True, login_limits: Limits | None = None) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[errors_middleware])
    app[SVC] = service or WorkOrderService.from_url(redis_url())
    app[USERS] = users if users is not None else auth.load_users()
    app[RASA] = RasaClient(rasa_url(), timeout_s=30)
    app[SIGNER] = signer or auth.TokenSigner()
    app[DUMMY_HASH] = auth.hash_password("not-a-user")
    app[GUARD] = LoginGuard(app[SVC].redis, prefix=app[SVC].store.p, limits=login_limits)
    r = app.router
    r.add_get("/health", health)
    r.add_post("/api/login", login)
    r.add_get("/api/me", me)
    r.add_get("/api/openapi.json", openapi)
    r.add_post("/api/orders", create_order)
    r.add_get("/api/orders", list_orders)
    r.add_get("/api/orders/{order_id}", get_order)
    r.add_post("/api/orders/{order_id}/correct", correct_order)
    r.add_post("/api/orders/{order_id}/materials", upload_material)
    r.add_post("/api/orders/{order_id}/signature", upload_signature)
    r.add_get("/api/orders/{order_id}/attachments/{name}", get_attachment)
    r.add_post("/api/orders/{order_id}/desk-rating", desk_rating)
    r.add_get("/api/queue", queue_status)
    r.add_post("/api/queue/tickets", queue_ticket)
    r.add_post("/api/queue/call", queue_call)
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
    if run_scheduler is None:
        run_scheduler = os.environ.get("WORKORDER_SCHEDULER", "1") != "0"
    if run_scheduler:
        scheduler_glue.start(app, SVC)

    async def _reports(app):
        store = app[SVC].store
        try:
            if await store.migrate_indexes():
                log.info("order indexes converted to sorted sets")
            if not await store.reports_ready():  # data written before the counters existed: count it once
                log.info("report counters: rebuilt from %d orders", await store.rebuild_reports())
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            log.warning("report counters not checked (Redis unavailable: %s); reports may be incomplete", exc)

    async def _close(app):
        await app[SVC].redis.close()
        await app[RASA].close()

    app.on_startup.append(_reports)

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
