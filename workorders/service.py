"""WorkOrderService: the ONE write path for 12345 work orders.

The staff API, the bot's actions, the consoles and the scheduler all call this class.

    svc = WorkOrderService.from_url()      # common.redis_conn: REDIS_URL or Redis Sentinel
    order = await svc.create("村口路灯坏了", caller_phone="13800001111", place={"township": "城关镇"},
                             channel="voice", client_request_id="conv-42-1")
    order["id"]                 # "12345202603020001" (also order["spoken_reference"] for TTS)
    await svc.transition(order["id"], "dispatch", actor, unit_id="...")
    await svc.rate(order["id"], "4", channel="sms")
    await svc.progress_for_caller("1111", "13800001111")

Returned orders are the stored dicts (personal fields encrypted under "pii"); use
`svc.present(order, viewer)` for a masked/decrypted view for a given viewer.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import uuid
from datetime import datetime
from functools import lru_cache
from types import SimpleNamespace

from common.privacy import decrypt, derive_key, encrypt, mask_id, mask_name, mask_phone, mask_text
from workorders import auth
from workorders.calendar import now as default_now
from workorders.chain import ChainReport, make_event, verify_events
from workorders.classify import classify
from workorders.deadlines import DeadlinePolicy, default_policy
from workorders.directory import default_directory
from workorders.dispatch import route
from workorders.lifecycle import available_actions, check, iso, parse_time, plan
from workorders.model import (
    ACCEPTED, ACTION_LABELS, ARCHIVED, BAD_LEVELS, CATEGORIES, CHANNELS, EMOTIONS, MERGED, OPEN_STATES, REPLIED,
    STATE_LABELS, STATES, TYPES,
    URGENCIES, Conflict, Forbidden, NotFound, WorkOrderError,
)
from workorders.rating import normalize_level
from workorders.store import WorkOrderStore, deadline_entries, place_key

log = logging.getLogger(__name__)

QUEUE_WINDOWS = {"A": "综合受理窗口", "B": "社保医保窗口", "C": "户籍证件窗口"}
MAX_PHOTO_BYTES = 1024 * 1024       # a tablet photo downscaled by the console is ~150-400 KB
MAX_SIGNATURE_BYTES = 200 * 1024
MAX_PHOTOS = 20
IMAGE_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


def image_type(data: bytes) -> str | None:
    """The image type from the content itself (never from a file name or a header)."""
    for magic, ctype in IMAGE_MAGIC:
        if data.startswith(magic):
            return ctype
    if len(data) > 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _json(obj) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False)


def _loads(raw):
    import json

    return json.loads(raw.decode() if isinstance(raw, bytes) else raw)

MAX_TEXT = 2000
SPOKEN_DIGITS = dict(zip("0123456789", "零幺二三四五六七八九"))
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def spoken_reference(ref: str) -> str:
    """Digits read one by one in groups (12345 2026 0302 0001) for TTS and the phone."""
    groups = [ref[:5], ref[5:9], ref[9:13], ref[13:]]
    return "，".join(" ".join(SPOKEN_DIGITS.get(c, c) for c in g) for g in groups if g)


def similarity(a: str, b: str) -> float:
    """Dice coefficient over character bigrams (punctuation ignored)."""
    return _dice(_bigrams(a or ""), _bigrams(b or ""))


@lru_cache(maxsize=4096)  # the place's open orders are compared with every new order there
def _bigrams(text: str) -> frozenset:
    text = _PUNCT.sub("", text)
    return frozenset(text[i:i + 2] for i in range(max(1, len(text) - 1))) if text else frozenset()


@lru_cache(maxsize=4096)
def _summary(raw: bytes) -> tuple:
    """store.dup_info JSON -> (category, matter_id, bigrams of the text)."""
    category, matter_id, text = _loads(raw)
    return category, matter_id, _bigrams(text or "")


def _dice(ga: frozenset, gb: frozenset) -> float:
    if not ga or not gb:
        return 0.0
    return 2 * len(ga & gb) / (len(ga) + len(gb))


def phone_digits(phone: str | None) -> str:
    return re.sub(r"\D", "", str(phone or ""))


def checked_text(text) -> str:
    """The request's text, stripped; 400 when empty or longer than MAX_TEXT (creation and correction)."""
    text = str(text or "").strip()
    if not text:
        raise WorkOrderError("text_required", "请填写诉求内容。", 400)
    if len(text) > MAX_TEXT:
        raise WorkOrderError("text_too_long", f"诉求内容不能超过{MAX_TEXT}字。", 400)
    return text


def phone_hash(phone: str) -> str:
    return hmac.new(derive_key("phone-lookup"), phone_digits(phone).encode(), hashlib.sha256).hexdigest()


def _default_directory():
    try:
        return default_directory()
    except Exception:  # noqa: BLE001 - a broken directory must not stop intake
        log.exception("directory could not be loaded")
        return None


# the classifier reasons kept on an order (workorders/classify.py Classification.reasons)
CLASSIFICATION_REASON_FIELDS = ("category", "type", "urgency", "department", "emergency")

class WorkOrderService:
    def __init__(self, redis, prefix: str = "wo", policy: DeadlinePolicy | None = None, clock=None,
                 classifier="default", router="default", directory="default"):
        self.redis = redis
        self.store = WorkOrderStore(redis, prefix)
        self.policy = policy or default_policy()
        self.clock = clock or default_now
        self._classifier = classifier
        self._router = router
        self._directory = directory

    @classmethod
    def from_url(cls, url: str | None = None, **kwargs) -> "WorkOrderService":
        """Through common.redis_conn: REDIS_URL, or the Sentinel primary when REDIS_SENTINELS is set.
        An explicit `url` (CLI --redis-url) that differs from REDIS_URL means that one server."""
        from common.redis_conn import async_client, config
        from common.settings import environment

        env = environment()
        if url and url != env.get("REDIS_URL"):
            env = {"REDIS_URL": url}
        return cls(async_client(config(env)), **kwargs)

    # collaborators: classify() and route() by default; None turns them off (fields given explicitly)
    @property
    def classifier(self):
        return classify if self._classifier == "default" else self._classifier

    @property
    def router(self):
        return route if self._router == "default" else self._router

    @property
    def directory(self):
        if self._directory == "default":
            self._directory = _default_directory()
        return self._directory

    def now(self) -> datetime:
        return self.clock()

    def unit_info(self, unit_id: str | None) -> dict:
        if not unit_id:
            return {}
        unit = None
        if self.directory is not None:
            try:
                unit = self.directory.get(unit_id)
            except Exception:  # noqa: BLE001
                unit = None
        if unit is None:
            return {"id": unit_id, "name": unit_id}
        return {"id": unit.id, "name": unit.name, "department": unit.department, "level": unit.level}

    # --- create ----------------------------------------------------------------------------------
    async def create(self, text: str, *, channel: str = "api", caller_name: str | None = None,
                     caller_phone: str | None = None, caller_id_number: str | None = None,
                     address_detail: str | None = None, place: dict | None = None,
                     category: str | None = None, type: str | None = None,  # noqa: A002
                     urgency: str | None = None, emotion: str | None = None, matter_id: str | None = None,
                     title: str | None = None, client_request_id: str | None = None,
                     actor: dict | None = None, instant_answer: str | None = None,
                     unit_id: str | None = None, co_unit_ids: list | None = None,
                     allow_refused: bool = False, details: dict | None = None,
                     service_request: bool = False) -> dict:
        actor = auth.actor_of(actor)
        if actor["role"] not in auth.CREATE_ROLES | {"system"}:
            raise Forbidden("forbidden", "您的岗位无权受理工单。")
        text = checked_text(text)
        if channel not in CHANNELS:
            raise WorkOrderError("bad_channel", f"渠道只能是：{'、'.join(CHANNELS)}。", 400)
        if client_request_id is not None:  # a repeat is answered by store.create_new, before any number is taken
            client_request_id = str(client_request_id).strip()[:128] or None
        for value, allowed, label in ((category, CATEGORIES, "分类"), (type, TYPES, "类型"),
                                      (urgency, URGENCIES, "紧急程度"), (emotion, EMOTIONS, "情绪")):
            if value is not None and value not in allowed:
                raise WorkOrderError("bad_field", f"{label}只能是：{'、'.join(allowed)}。", 400)
        place = {k: str(v) for k, v in (place or {}).items() if k in ("county", "township", "village") and v}
        if unit_id and actor["role"] != "system" and actor["role"] not in auth.ACTION_ROLES["dispatch"]:
            raise Forbidden("forbidden", "您的岗位无权派单，请只受理，由派单员派单。")
        if caller_phone is not None and not 7 <= len(phone_digits(caller_phone)) <= 15:
            raise WorkOrderError("bad_phone", "联系电话格式不正确。", 400)

        classification, source = None, "given"
        if not (category and type and urgency) and self.classifier is not None:
            try:
                classification = self.classifier(text, {"place": place, "channel": channel})
                source = "classifier"
            except Exception:  # noqa: BLE001 - intake must go on; a person reviews it
                log.exception("classify() failed")
        emergency = refusal = None
        if classification is not None:
            category = category or classification.category
            type = type or classification.type  # noqa: A001
            urgency = urgency or classification.urgency
            emotion = emotion or classification.emotion
            matter_id = matter_id or classification.matter_id
            refusal = classification.refusal
            emergency = classification.emergency
            loc = classification.location
            if isinstance(loc, dict) and not place:
                place = {k: str(v) for k, v in loc.items() if k in ("county", "township", "village") and v}
        if refusal and not allow_refused:
            raise WorkOrderError("not_accepted", f"该诉求不属于12345受理范围：{refusal}", 422)
        needs_review = not (category and type and urgency)
        category = category if category in CATEGORIES else "政务类"
        type = type if type in TYPES else "求助"  # noqa: A001
        urgency = urgency if urgency in URGENCIES else "一般"
        if instant_answer and type != "咨询" and category != "咨询类":
            raise WorkOrderError("instant_needs_consultation", "只有咨询类诉求可以即时答复办结。", 400)

        now = self.now()
        masked = mask_text(text)
        plain = {f: str(v) for f, v in (("caller_name", caller_name), ("caller_phone", caller_phone),
                                         ("caller_id_number", caller_id_number),
                                         ("address_detail", address_detail)) if v}
        if masked != text:
            plain["text"] = text
        pii = {f: encrypt(v) for f, v in plain.items()}

        async def build(oid: str, candidates: list) -> tuple[dict, dict]:
            """The order under its reserved number, compared with the place's open orders (`candidates`)."""
            order = {
                "id": oid, "spoken_reference": spoken_reference(oid), "created_at": iso(now),
                "updated_at": iso(now), "channel": channel, "title": (title or masked[:30]).strip(), "text": masked,
                "place": place, "category": category, "type": type, "urgency": urgency,
                "emotion": emotion or "平静", "matter_id": matter_id, "classification_source": source,
                "needs_review": needs_review, "emergency_number": emergency, "refusal": refusal, "state": ACCEPTED,
                "deadline": iso(self.policy.handling_deadline(now, type, urgency)), "deadline_kind": "handle",
                "pii": pii, "phone_hash": phone_hash(caller_phone) if caller_phone else None,
                "client_request_id": client_request_id, "created_by": actor.get("username"),
            }
            if service_request:  # a registration for a catalogue matter (routed by the matter, not by words)
                order["service_request"] = True
            if details:  # what the caller confirmed beyond the text (办理对象, 原因…), Chinese, masked
                order["details"] = {mask_text(str(k))[:20]: mask_text(str(v))[:60]
                                    for k, v in list(details.items())[:8] if v not in (None, "")}
            dup = await self._best_duplicate(masked, candidates, category=category, matter_id=matter_id)
            if dup:
                order["possible_duplicate_of"] = dup["id"]
                order["duplicate_score"] = round(dup["score"], 3)
            suggestion = self._suggest(order, classification)
            if suggestion:
                order["suggestion"] = suggestion
            if classification is not None and source == "classifier":
                # why the classifier decided (Chinese, masked): the dispatch console shows it
                order["classification_reasons"] = {
                    k: mask_text(str(v))[:120] for k, v in (getattr(classification, "reasons", None) or {}).items()
                    if k in CLASSIFICATION_REASON_FIELDS and v}
                if getattr(classification, "review_reasons", None):
                    order["review_reasons"] = [mask_text(str(r))[:120] for r in classification.review_reasons[:3]]
            public = {k: v for k, v in order.items() if k not in ("pii", "phone_hash")}
            public["pii_fields"] = sorted(pii)
            event = make_event(None, at=iso(now), actor=actor, action="create", before={}, after=public)
            order["event_count"], order["chain_head"] = 1, event["hash"]
            return order, event

        stored, created = await self.store.create_new(now.date(), client_request_id, place_key({"place": place}),
                                                      self._duplicate_window(now), build)
        oid = stored["id"]
        if not created:
            return {**stored, "_created": False}
        if instant_answer:
            stored = await self.transition(oid, "instant_answer", actor, answer=instant_answer)
        elif unit_id:
            stored = await self.transition(oid, "dispatch", actor, unit_id=unit_id, co_unit_ids=co_unit_ids or [])
        if stored.get("pii") == pii:  # the reply shows what was just encrypted: no need to decrypt it back
            stored = {**stored, "_plain": plain}
        return {**stored, "_created": True}

    # --- correction of a registration (更正登记) --------------------------------------------------
    async def correct(self, order_id: str, actor: dict | None, *, text: str, title: str | None = None,
                      caller_name: str | None = None, caller_phone: str | None = None,
                      caller_id_number: str | None = None, address_detail: str | None = None,
                      place: dict | None = None) -> dict:
        """The front desk corrects what it registered, on the same order, while nobody has taken it
        up yet (state 受理): text, title, caller and place are replaced by the corrected form (an
        empty personal field is removed). One "correct" event records what changed (personal data
        only as the list of fields present, as at creation)."""
        actor = auth.actor_of(actor)
        if actor["role"] not in auth.CREATE_ROLES | {"system"}:
            raise Forbidden("forbidden", "您的岗位无权更正登记。")
        text = checked_text(text)
        if caller_phone is not None and not 7 <= len(phone_digits(caller_phone)) <= 15:
            raise WorkOrderError("bad_phone", "联系电话格式不正确。", 400)
        now = self.now()
        masked = mask_text(text)
        fields = {"caller_name": caller_name, "caller_phone": caller_phone,
                  "caller_id_number": caller_id_number, "address_detail": address_detail}
        clean_place = {k: str(v) for k, v in (place or {}).items() if k in ("county", "township", "village") and v}

        def mutate(old: dict, last_event):
            if old["state"] != ACCEPTED:
                raise Conflict("not_correctable", "工单已派出或已办理，不能再更正登记；请联系派单员处理。",
                               state=old["state"])
            if actor["role"] == "clerk" and old.get("created_by") not in (None, actor.get("username")):
                raise Forbidden("not_your_order", "只能更正本人登记的工单。")
            pii = {k: v for k, v in (old.get("pii") or {}).items() if k not in fields and k != "text"}
            pii.update({k: encrypt(str(v)) for k, v in fields.items() if v})
            if masked != text:
                pii["text"] = encrypt(text)
            ch = {"text": masked, "title": (title or masked[:30]).strip(), "pii": pii,
                  "phone_hash": phone_hash(caller_phone) if caller_phone else None,
                  "corrections": int(old.get("corrections") or 0) + 1, "corrected_at": iso(now)}
            if place is not None:
                ch["place"] = clean_place
                suggestion = self._suggest({**old, **ch}, None)
                if suggestion:
                    ch["suggestion"] = suggestion
            public = [k for k in ch if k not in ("pii", "phone_hash")]
            before = {k: old.get(k) for k in public}
            before["pii_fields"] = sorted(old.get("pii") or {})
            after = {k: ch[k] for k in public}
            after["pii_fields"] = sorted(pii)
            new = {**old, **ch, "updated_at": iso(now)}
            return new, "correct", actor, before, after, iso(now)

        new, _ = await self.store.update(str(order_id), mutate)
        return new

    # --- the front desk of the seed (在线排队叫号, 材料实时上传, 签名确认评价) -------------------------
    # Queue tickets live per day and window (P:queue:{day}:{window}:seq|waiting|current, P:queue:{day}:calls);
    # photos and signatures are stored encrypted beside the order (P:attach:{order}:{name}), the order
    # records what was attached (material_photos, signature, desk_rating) with one event each.
    def _qk(self, *parts) -> str:
        return self.store.k("queue", self.now().date().isoformat(), *parts)

    async def take_ticket(self, window: str, elderly: bool = False) -> dict:
        if window not in QUEUE_WINDOWS:
            raise WorkOrderError("unknown_window", f"没有这个窗口：{window}。可选：{'、'.join(QUEUE_WINDOWS)}。", 400)
        seq = await self.redis.incr(self._qk(window, "seq"))
        await self.redis.expire(self._qk(window, "seq"), 3 * 86400)
        ticket = {"number": f"{window}{seq:03d}", "window": window, "window_name": QUEUE_WINDOWS[window],
                  "issued_at": iso(self.now()), "elderly": bool(elderly)}
        await self.redis.rpush(self._qk(window, "waiting"), _json(ticket))
        await self.redis.expire(self._qk(window, "waiting"), 3 * 86400)
        waiting = await self.redis.llen(self._qk(window, "waiting"))
        return {**ticket, "ahead": waiting - 1}

    async def call_next(self, window: str, actor: dict | None) -> dict | None:
        """The next ticket of `window` (老年人 first, then in order of arrival), or None when nobody waits."""
        if window not in QUEUE_WINDOWS:
            raise WorkOrderError("unknown_window", f"没有这个窗口：{window}。", 400)
        actor = auth.actor_of(actor)
        key = self._qk(window, "waiting")
        for _ in range(10):
            raw = await self.redis.lrange(key, 0, -1)
            if not raw:
                return None
            tickets = [_loads(r) for r in raw]
            pick = next((i for i, t in enumerate(tickets) if t.get("elderly")), 0)
            if await self.redis.lrem(key, 1, raw[pick]) == 0:
                continue  # another window took it first
            ticket = tickets[pick]
            now = self.now()
            waited = max(0, round((now - parse_time(ticket["issued_at"])).total_seconds() / 60))
            called = {**ticket, "called_at": iso(now), "called_by": actor.get("username"), "waited_minutes": waited}
            await self.redis.set(self._qk(window, "current"), _json(called), ex=3 * 86400)
            await self.redis.lpush(self._qk("calls"), _json(called))
            await self.redis.ltrim(self._qk("calls"), 0, 19)
            await self.redis.expire(self._qk("calls"), 3 * 86400)
            return called
        raise Conflict("busy", "叫号繁忙，请再试一次。")

    async def queue_status(self) -> dict:
        now = self.now()
        windows = []
        for wid, name in QUEUE_WINDOWS.items():
            waiting = [_loads(r) for r in await self.redis.lrange(self._qk(wid, "waiting"), 0, -1)]
            for t in waiting:
                t["waited_minutes"] = max(0, round((now - parse_time(t["issued_at"])).total_seconds() / 60))
            current = await self.redis.get(self._qk(wid, "current"))
            windows.append({"id": wid, "name": name, "waiting": waiting, "current": _loads(current) if current else None})
        calls = [_loads(r) for r in await self.redis.lrange(self._qk("calls"), 0, 19)]
        done = [c["waited_minutes"] for c in calls]
        return {"windows": windows, "calls": calls, "avg_wait_minutes": round(sum(done) / len(done)) if done else None}

    def _ak(self, order_id: str, name: str) -> str:
        return self.store.k("attach", order_id, name)

    async def attach(self, order_id: str, actor: dict | None, kind: str, data: bytes, item: str | None = None) -> dict:
        """Attach a material photo (kind "material", `item` = the checklist item) or the resident's
        signature (kind "signature") to an open order: type by content (JPEG, PNG, WebP; a signature
        is a PNG), size-checked, stored encrypted."""
        actor = auth.actor_of(actor)
        if actor["role"] not in auth.CREATE_ROLES | {"system"}:
            raise Forbidden("forbidden", "您的岗位无权上传材料或签名。")
        ctype = image_type(data)
        limit = MAX_PHOTO_BYTES if kind == "material" else MAX_SIGNATURE_BYTES
        if not data:
            raise WorkOrderError("empty_file", "没有收到图片内容。", 400)
        if ctype is None or (kind == "signature" and ctype != "image/png"):
            raise WorkOrderError("bad_image", "只能上传照片（JPG、PNG 或 WebP 格式）。" if kind == "material"
                                 else "签名必须是 PNG 图片。", 415)
        if len(data) > limit:
            raise WorkOrderError("image_too_large", f"图片太大（{len(data) // 1024} KB），上限 {limit // 1024} KB。", 413)
        if kind == "material":
            item = mask_text(str(item or "").strip())[:60]
            if not item:
                raise WorkOrderError("item_required", "请说明这张照片是哪项材料。", 400)
        now = self.now()
        blob = encrypt(base64.b64encode(data).decode())

        def mutate(old: dict, last_event):
            if old["state"] in (ARCHIVED, MERGED):
                raise Conflict("closed", "工单已归档或并单，不能再上传。")
            if kind == "material":
                photos = list(old.get("material_photos") or [])
                if len(photos) >= MAX_PHOTOS:
                    raise Conflict("too_many_photos", f"每件工单最多上传{MAX_PHOTOS}张材料照片。")
                entry = {"id": len(photos) + 1, "item": item, "content_type": ctype, "size": len(data),
                         "at": iso(now), "by": actor.get("username")}
                ch = {"material_photos": photos + [entry]}
                action = "attach_material"
            else:
                if old.get("signature"):
                    raise Conflict("already_signed", "居民已签名确认，不能重复签名。")
                ch = {"signature": {"size": len(data), "at": iso(now), "by": actor.get("username")}}
                action = "sign_receipt"
            new = {**old, **ch, "updated_at": iso(now)}
            return new, action, actor, {k: old.get(k) for k in ch}, ch, iso(now)

        new, event = await self.store.update(str(order_id), mutate)
        name = f"material-{new['material_photos'][-1]['id']}" if kind == "material" else "signature"
        await self.redis.set(self._ak(str(order_id), name), blob)
        return new

    async def attachment(self, order: dict, name: str) -> tuple[bytes, str]:
        token = await self.redis.get(self._ak(order["id"], name))
        if not token:
            raise NotFound("attachment_not_found", "没有这个附件。")
        data = base64.b64decode(decrypt(token.decode() if isinstance(token, bytes) else token))
        return data, image_type(data) or "application/octet-stream"

    async def rate_desk(self, order_id: str, actor: dict | None, level) -> dict:
        """好差评 of the front-desk service itself, given by the resident on the tablet (once)."""
        actor = auth.actor_of(actor)
        if actor["role"] not in auth.CREATE_ROLES | {"system"}:
            raise Forbidden("forbidden", "您的岗位无权记录窗口评价。")
        level = normalize_level(level)
        now = self.now()

        def mutate(old: dict, last_event):
            if old.get("desk_rating"):
                raise Conflict("already_rated", "居民已评价过这次服务。")
            ch = {"desk_rating": {"level": level, "at": iso(now)}}
            return {**old, **ch, "updated_at": iso(now)}, "desk_rating", actor, {"desk_rating": None}, ch, iso(now)

        new, _ = await self.store.update(str(order_id), mutate)
        return new

    def _suggest(self, order: dict, classification) -> dict | None:
        if self.router is None:
            return None
        try:
            cls = classification or SimpleNamespace(
                category=order["category"], type=order["type"], urgency=order["urgency"],
                emotion=order["emotion"], matter_id=order["matter_id"], location=order["place"],
                text=order["text"], refusal=None, emergency=None,
                service_request=bool(order.get("service_request")))
            a = self.router(cls, order["place"], self.directory)
        except Exception:  # noqa: BLE001 - a routing failure leaves the order to the dispatcher
            log.exception("route() failed")
            return None
        if a is None or not a.lead_unit_id:
            return None
        return {"lead_unit_id": a.lead_unit_id, "co_unit_ids": list(a.co_unit_ids or []), "level": a.level,
                "reason": a.reason_zh, "department": a.department}

    # --- reads -----------------------------------------------------------------------------------
    async def get(self, order_id: str) -> dict:
        order = await self.store.load(str(order_id))
        if order is None:
            raise NotFound("order_not_found", f"找不到工单 {order_id}。")
        return order

    async def events(self, order_id: str) -> list[dict]:
        await self.get(order_id)
        return await self.store.events(order_id)

    def is_overdue(self, order: dict, now: datetime | None = None) -> bool:
        now = now or self.now()
        return any(ts < now.timestamp() for ts in deadline_entries(order).values())

    async def list(self, *, state=None, unit=None, category=None, type=None, urgency=None,  # noqa: A002
                   township=None, village=None, overdue: bool | None = None, since=None, until=None,
                   text: str | None = None, viewer: dict | None = None, limit: int = 50,
                   offset: int = 0) -> dict:
        keys, union = [], None
        if isinstance(state, (tuple, list, set, frozenset)):   # any of several states (a queue)
            states = sorted(state)
            if len(states) == 1:
                state = states[0]
            else:
                state, union = None, self.store.k("tmp", "states", uuid.uuid4().hex)
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.zunionstore(union, [self.store.k("idx", "state", s) for s in states])
                    pipe.expire(union, 60)
                    await pipe.execute()
                keys.append(union)
        for name, value in (("state", state), ("unit", unit), ("category", category), ("type", type),
                            ("urgency", urgency), ("township", township), ("village", village)):
            if value:
                keys.append(self.store.k("idx", name, value))
        if viewer and viewer.get("role") == "unit_handler":
            keys.append(self.store.k("idx", "unit", viewer.get("unit_id") or "-"))
        since_t, until_t = parse_time(since), parse_time(until)
        if text is None and overdue is None:  # a page straight from the indexes: O(page), not O(orders)
            lo = since_t.timestamp() if since_t else float("-inf")
            hi = until_t.timestamp() if until_t else float("inf")
            total, ids = await self.store.page(keys, lo, hi, offset, limit)
            return {"total": total, "items": await self.store.load_many(ids)}
        if keys:
            ids = await self.store.intersect(keys)
            orders = await self.store.load_many(sorted(ids))
        else:
            lo = since_t.timestamp() if since_t else float("-inf")
            hi = until_t.timestamp() if until_t else float("inf")
            orders = await self.store.load_many(await self.store.ids_by_time(lo, hi))
        now = self.now()
        out = []
        for o in orders:
            created = parse_time(o["created_at"])
            if since_t and created < since_t or until_t and created > until_t:
                continue
            if overdue is not None and self.is_overdue(o, now) != overdue:
                continue
            if text and text not in o.get("text", "") and text not in o.get("title", "") and text != o["id"]:
                continue
            out.append(o)
        out.sort(key=lambda o: o["created_at"], reverse=True)
        return {"total": len(out), "items": out[offset:offset + limit]}

    # --- transitions -----------------------------------------------------------------------------
    async def transition(self, order_id: str, action: str, actor: dict | None = None, **data) -> dict:
        """Apply a lifecycle action; raises WorkOrderError subclasses (status 400/403/404/409)."""
        new, _ = await self.transition_with_event(order_id, action, actor, **data)
        return new

    async def transition_with_event(self, order_id: str, action: str, actor: dict | None = None,
                                    **data) -> tuple[dict, dict | None]:
        """Like transition(); also returns the appended event (None when nothing changed)."""
        actor = auth.actor_of(actor)
        order_id = str(order_id)
        current = await self.get(order_id)
        check(current, action)  # fail fast; re-checked under WATCH in mutate()
        if action == "rate":
            data["level"] = normalize_level(data.get("level"))
        if action == "dispatch" and not data.get("unit_id"):
            sug = current.get("suggestion") or self._suggest(current, None)
            if not sug:
                raise WorkOrderError("unit_required", "系统无法自动确定承办单位，请手工指定。", 400)
            data.update(unit_id=sug["lead_unit_id"], co_unit_ids=data.get("co_unit_ids") or sug["co_unit_ids"],
                        level=sug.get("level"), reason=sug.get("reason"), department=sug.get("department"))
        if action == "dispatch":
            info = self.unit_info(data["unit_id"])
            if not data.get("department"):
                data["department"] = info.get("department")
        if action == "merge":
            master = await self.get(str(data.get("master_id") or "").strip() or "-")
            if master["state"] not in OPEN_STATES or master["id"] == order_id:
                raise Conflict("bad_master", "主工单已办结或已并单，不能并入。")
        now = self.now()
        trigger = data.get("trigger")

        def mutate(old: dict, last_event):
            auth.authorize_action(actor, action, old)
            if trigger and any(e.get("trigger") == trigger for e in old.get("supervision") or []):
                return None  # this supervision was raised before: idempotent
            ch = plan(old, action, data, now, self.policy, actor)
            before = {k: old.get(k) for k in ch}
            new = {**old, **ch, "updated_at": iso(now)}
            return new, action, actor, before, ch, iso(now)

        def extra(pipe, new, event):
            if action in ("supervise", "warn"):
                self.store.queue_supervision(pipe, {
                    "order_id": new["id"], "kind": action, "label": ACTION_LABELS[action],
                    "trigger": trigger or f"manual:{event['seq']}", "at": iso(now),
                    "by": actor.get("username"), "note": data.get("note"), "unit_id": new.get("lead_unit_id"),
                    "deadline": new.get("deadline"), "title": new.get("title")}, now.timestamp())
            if action == "rate" and data["level"] in BAD_LEVELS:
                self.store.queue_supervision(pipe, {
                    "order_id": new["id"], "kind": "rectification", "label": "差评整改",
                    "trigger": f"rectification:{event['seq']}", "at": iso(now), "by": actor.get("username"),
                    "note": f"评价：{data['level']}", "unit_id": new.get("lead_unit_id"),
                    "deadline": new.get("deadline"), "title": new.get("title")}, now.timestamp())

        new, event = await self.store.update(order_id, mutate, extra)
        if action == "merge" and event is not None:
            await self._link_merge(data["master_id"], order_id, actor, now)
        return new, event

    async def _link_merge(self, master_id: str, dup_id: str, actor: dict, now: datetime) -> None:
        def mutate(old, last_event):
            merged = list(old.get("merged_orders") or [])
            if dup_id in merged:
                return None
            new = {**old, "merged_orders": merged + [dup_id], "updated_at": iso(now)}
            return new, "merge_in", actor, {"merged_orders": old.get("merged_orders")}, \
                {"merged_orders": new["merged_orders"]}, iso(now)

        await self.store.update(master_id, mutate)

    async def rate(self, order_id: str, level, channel: str | None = None, actor: dict | None = None) -> dict:
        return await self.transition(order_id, "rate", actor, level=level, channel=channel)

    # --- duplicates and callers ------------------------------------------------------------------
    def _duplicate_window(self, now: datetime) -> tuple[float, float]:
        return (now - self.policy.duplicate_window).timestamp(), now.timestamp() + 1

    async def find_duplicate(self, text: str, place: dict | None, *, category: str | None = None,
                             matter_id: str | None = None, exclude: str | None = None,
                             threshold: float = 0.35) -> dict | None:
        """The most similar OPEN order at the same place with the same matter (or category) in the
        duplicate window, as {"id", "score"}; None when there is none."""
        key = place_key({"place": place})
        if not key:
            return None
        candidates = await self.store.dup_candidates(key, *self._duplicate_window(self.now()))
        return await self._best_duplicate(text, candidates, category=category, matter_id=matter_id,
                                          exclude=exclude, threshold=threshold)

    async def _best_duplicate(self, text: str, candidates: list, *, category: str | None = None,
                              matter_id: str | None = None, exclude: str | None = None,
                              threshold: float = 0.35) -> dict | None:
        """`candidates` as store.dup_candidates() gives them: (id, summary JSON), the summary empty for an order
        written before summaries existed (then the order itself is read)."""
        missing = [oid for oid, info in candidates if not info]
        loaded = {o["id"]: o for o in await self.store.load_many(missing)} if missing else {}
        mine = _bigrams(text)
        best = None
        for oid, info in candidates:
            if oid == exclude:
                continue
            if info:
                o_category, o_matter, grams = _summary(info)
            else:
                o = loaded.get(oid)
                if o is None or o["state"] not in OPEN_STATES:
                    continue
                o_category, o_matter, grams = o.get("category"), o.get("matter_id"), _bigrams(o.get("text") or "")
            if matter_id and o_matter:
                if o_matter != matter_id:
                    continue
            elif category and o_category != category:
                continue
            score = _dice(mine, grams)
            if score >= threshold and (best is None or score > best["score"]):
                best = {"id": oid, "score": score}
        return best

    async def progress_for_caller(self, phone_last4: str, phone: str) -> dict:
        """Orders of the caller with `phone`, released only when `phone_last4` matches its last
        four digits. Returns {"verified", "orders": [...], "message"} in plain Chinese."""
        digits, last4 = phone_digits(phone), phone_digits(phone_last4)
        if len(last4) != 4 or len(digits) < 7:
            raise WorkOrderError("bad_phone", "请提供登记的手机号码和号码后四位。", 400)
        if digits[-4:] != last4:
            return {"verified": False, "orders": [], "message": "手机号码后四位核对不一致，暂时无法查询，请转人工。"}
        ids = await self.store.members(self.store.k("idx", "phone", phone_hash(digits)))
        orders = [o for o in await self.store.load_many(sorted(ids))
                  if "caller_phone" in o.get("pii", {}) and phone_digits(decrypt(o["pii"]["caller_phone"])) == digits]
        orders.sort(key=lambda o: o["created_at"], reverse=True)
        items = [self._progress_item(o) for o in orders]
        if not items:
            message = "没有查到用这个号码登记的工单。"
        else:
            message = f"查到您的{len(items)}件工单。" + "".join(i["message"] for i in items[:3])
        return {"verified": True, "orders": items, "message": message}

    def _progress_item(self, o: dict) -> dict:
        created = parse_time(o["created_at"])
        unit = self.unit_info(o.get("lead_unit_id"))
        state = o["state"]
        msg = f"您{created.month}月{created.day}日反映的“{o['title']}”，工单号{o['id']}，目前处于“{STATE_LABELS[state]}”阶段"
        if unit:
            msg += f"，承办单位是{unit['name']}"
        if state in OPEN_STATES and o.get("deadline"):
            d = parse_time(o["deadline"])
            msg += f"，办理期限是{d.month}月{d.day}日"
        if o.get("reply") and state not in OPEN_STATES - {REPLIED}:
            msg += f"。答复意见：{o['reply']}"
        msg += "。"
        return {"id": o["id"], "spoken_reference": o["spoken_reference"], "created_at": o["created_at"],
                "state": state, "state_label": STATE_LABELS[state], "title": o["title"],
                "unit": unit.get("name"), "deadline": o.get("deadline"), "reply": o.get("reply"), "message": msg}

    # --- chain -----------------------------------------------------------------------------------
    async def verify(self, order_id: str) -> ChainReport:
        order = await self.store.load(order_id)
        events = await self.store.events(order_id)
        heads = [await self.store.head(order_id)]
        if order is not None:
            heads.append(f"{order.get('event_count')}:{order.get('chain_head')}")
        else:
            report = verify_events(order_id, events, heads)
            report.fail("工单记录缺失 (order record missing)")
            return report
        return verify_events(order_id, events, heads)

    async def verify_all(self) -> list[ChainReport]:
        ids = set(await self.store.all_ids())
        heads = await self.redis.hkeys(self.store.k("chain", "heads"))
        ids |= {h.decode() if isinstance(h, bytes) else h for h in heads}
        return [await self.verify(i) for i in sorted(ids)]

    # --- presentation ----------------------------------------------------------------------------
    def present(self, order: dict, viewer: dict | None = None, reveal_id: bool = False) -> dict:
        """A copy for `viewer` (None = system: everything in clear). Contact details in clear only for
        roles allowed by auth.sees_full_contact; the ID number is always masked unless reveal_id."""
        full = auth.sees_full_contact(viewer, order)
        pii = order.get("_plain")  # a create's own reply: the plain values it encrypted (never stored)
        if pii is None:
            pii = {}
            for name, token in (order.get("pii") or {}).items():
                try:
                    pii[name] = decrypt(token)
                except ValueError:
                    pii[name] = None
        caller = {
            "name": pii.get("caller_name") if full else mask_name(pii.get("caller_name")),
            "phone": pii.get("caller_phone") if full else mask_phone(pii.get("caller_phone")),
            "id_number": pii.get("caller_id_number") if (reveal_id or viewer is None)
            else mask_id(pii.get("caller_id_number")),
            "address_detail": pii.get("address_detail") if full else ("***" if pii.get("address_detail") else ""),
        }
        out = {k: v for k, v in order.items() if k not in ("pii", "phone_hash", "_created", "_plain")}
        if full and "text" in pii:
            out["text"] = pii["text"]
        out["caller"] = {k: v for k, v in caller.items() if v}
        out["state_label"] = STATE_LABELS.get(order["state"], order["state"])
        out["overdue"] = self.is_overdue(order)
        out["open"] = order["state"] in OPEN_STATES
        out["state_rank"] = STATES.index(order["state"]) if order["state"] in STATES else len(STATES)
        # What this viewer may do now: the state machine's answer, filtered by role and unit.
        out["actions"] = [a for a in available_actions(order, self.policy.max_extensions, self.now())
                          if auth.may(auth.actor_of(viewer), a, order)]
        out["extensions_left"] = max(0, self.policy.max_extensions - int(order.get("extensions_used") or 0))
        if order.get("lead_unit_id"):
            out["lead_unit"] = self.unit_info(order["lead_unit_id"])
        return out
