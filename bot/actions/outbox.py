"""Outbox: short text summaries of a registered request, for SMS and the mini-program.

No SMS gateway exists yet: records wait in Redis for whichever sender is built.
Keys: `outbox:queue` (list of record ids, oldest first), `outbox:rec:<id>` (JSON).
The destination phone is stored encrypted; the text itself never contains an ID or
phone number (masked with common.privacy.mask_text as a second guard).
"""
from __future__ import annotations

import json
import time
import uuid

from common.privacy import decrypt, encrypt, mask_text

PREFIX = "outbox"
TTL_SECONDS = 30 * 24 * 3600


def sms_text(matter_name: str, reference: str, where: str, materials: list[str]) -> str:
    """At most ~70 characters of the useful part: what, reference, where, what to bring."""
    bring = "、".join(materials[:3])
    text = f"【政务服务】您登记的“{matter_name}”已受理，编号{reference}。办理地点：{where}。"
    if bring:
        text += f"请带：{bring}。"
    return mask_text(text)


async def add(redis, *, kind: str, phone: str | None, text: str, reference: str, sender_id: str) -> str:
    """Queue one record; returns its id.  kind: sms | miniprogram."""
    rec_id = uuid.uuid4().hex[:16]
    record = {"id": rec_id, "kind": kind, "reference": reference, "text": mask_text(text),
              "to": encrypt(phone) if phone else None, "sender_id": sender_id,
              "created_at": time.time(), "status": "pending"}
    pipe = redis.pipeline()
    pipe.set(f"{PREFIX}:rec:{rec_id}", json.dumps(record, ensure_ascii=False), ex=TTL_SECONDS)
    pipe.rpush(f"{PREFIX}:queue", rec_id)
    await pipe.execute()
    return rec_id


async def pending(redis, limit: int = 100) -> list[dict]:
    """Records in the queue (destination still encrypted)."""
    ids = await redis.lrange(f"{PREFIX}:queue", 0, limit - 1)
    out = []
    for rec_id in ids:
        raw = await redis.get(f"{PREFIX}:rec:{rec_id.decode() if isinstance(rec_id, bytes) else rec_id}")
        if raw:
            out.append(json.loads(raw))
    return out


def destination(record: dict) -> str | None:
    """The phone number in clear, for the sender only."""
    return decrypt(record["to"]) if record.get("to") else None
