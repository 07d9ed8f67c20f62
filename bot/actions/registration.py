"""Register a guided flow's request as a 12345 work order (the ONE write path).

Everything the flows need from workorders is in `register_request`, so a change of the
service's signature touches only this function.  Personal fields are passed separately
and encrypted at rest by the service; the free text carries no ID or phone number.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.actions.workorders import service
from common.privacy import mask_text

log = logging.getLogger(__name__)


@dataclass
class Registration:
    reference: str          # e.g. "12345202603020001"
    spoken: str             # digits read one by one, grouped, for voice
    created: bool           # False when the same client_request_id was registered before


def _service():
    return service()   # one service (one Redis pool) per process


async def register_request(*, matter_id: str, matter_name: str, summary: str, channel: str,
                           name: str | None, phone: str | None, id_number: str | None,
                           village: str | None, client_request_id: str, place: dict | None = None,
                           details: dict | None = None, service=None) -> Registration:
    """Create (idempotently, by client_request_id) the work order for a guided flow."""
    svc = service or _service()
    channel = channel if channel in ("voice", "wechat", "miniprogram", "web", "frontdesk") else "api"
    order = await svc.create(
        mask_text(summary), channel=channel, caller_name=name or None, caller_phone=phone or None,
        caller_id_number=id_number or None, address_detail=village or None,
        place=place or None, category="政务类", type="求助", urgency="一般",
        matter_id=matter_id, title=f"登记办理：{matter_name}", client_request_id=client_request_id,
        details=details, service_request=True,
    )
    log.info("flow request registered: %s (%s, created=%s)", order["id"], matter_id, order.get("_created", True))
    return Registration(order["id"], order.get("spoken_reference") or order["id"], order.get("_created", True))
