"""Work-order routes: create, correct, list (filters, one page), read, lifecycle actions, events, chain check.
Staff free text is masked (common.privacy.mask_text) before it is stored.
"""
from __future__ import annotations

import logging

from common.privacy import mask_text
from staffapi import apischema
from staffapi.base import API_ACTIONS, FREE_TEXT_FIELDS, SVC, USERS, dumps, json_body, offload, ok, requires
from workorders import auth
from workorders.lifecycle import states_allowing
from workorders.model import Forbidden, WorkOrderError

log = logging.getLogger(__name__)


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


@requires()
async def list_orders(request):
    q = apischema.parse_query(apischema.ORDERS_QUERY, request.query)
    text = q["q"] or request.query.get("text")
    if text and len(text) > 200:
        raise WorkOrderError("bad_query", "参数 q 不能超过 200 个字。", 400)
    filters = {name: q[name] for name in ("state", "unit", "category", "type", "urgency", "township", "village",
                                          "overdue", "since", "until", "limit", "offset")}
    if q["action"]:   # a queue: the states the state machine allows the action in (lifecycle.TRANSITIONS)
        states = states_allowing(q["action"])
        if q["state"] and q["state"] not in states:
            return ok({"total": 0, "items": []})
        filters["state"] = q["state"] or states
    return await offload(request, orders_page, {**filters, "text": text or None}, request["actor"])


async def orders_page(svc, filters: dict, viewer: dict) -> bytes:
    """GET /api/orders' body (in the report worker when there is one: staffapi.base.offload)."""
    res = await svc.list(**filters, viewer=viewer)
    return dumps({"total": res["total"], "items": [svc.present(o, viewer) for o in res["items"]]})


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
