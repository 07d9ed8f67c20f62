"""The front desk of the seed: queue tickets per window and number calling, material photos and the resident's
signature (stored encrypted with the order), the 好差评 of the desk service.
"""
from __future__ import annotations

import logging

from aiohttp import web

from staffapi import apischema
from staffapi.base import MAX_UPLOAD, SVC, json_body, ok, requires
from staffapi.orders import _visible
from workorders.model import WorkOrderError

log = logging.getLogger(__name__)


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
