"""12345 work orders from the conversation: intake, progress query and 好差评 rating.

- Intake (workorder_form): the caller's own words -> township/village -> callback phone with
  read-back -> classify(); refusals get the reason, emergencies the right line (never an
  order); a duplicate of an open order is created and merged into it; otherwise a new order.
- Progress (wo_progress_form): last four digits of the phone used -> progress_for_caller.
- Rating (wo_rating_form): which order (given reference, or the caller's latest completed
  and unrated one), then the level (words or keypad 1-5) -> WorkOrderService.rate.

Everything is written through workorders.service.WorkOrderService (the ONE write path).
Phone numbers appear in clear only in the read-back the caller is asked to check; logs
carry order ids only.
"""
from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet

from bot.actions.core import decline_offer, handoff_events, offered_matter, puts_off_offer
from bot.actions.flow_specs import ask_event
from bot.actions.parse import resolve_place
from common import settings
from common.privacy import mask_text
from textnorm import answers
from textnorm.phone import WRONG_LENGTH, validate_phone
from textnorm.spoken_numbers import DigitBuffer, read_phone, spoken_digits, to_digits
from workorders.model import (
    BAD_LEVELS, KIND_CLASSIFICATION, MERGED, RATEABLE_STATES, SOME_UNIT, STATE_PROGRESS, WAITING_FOR_UNIT,
)
from workorders.classify import classify
from workorders.directory import default_directory
from workorders.rating import normalize_level
from workorders.otp import OneTimeCodes
from workorders.service import WorkOrderService, phone_hash

log = logging.getLogger(__name__)

_RATE_REQUEST = re.compile(r"评价|评个价|评一下|打个分|打分|评一评|给个评")
_PAST_CASE = re.compile(r"上(?:趟|次|回|一次|一回|个月)|前(?:几天|阵子|些天|两天)|之前|那回|那次")
_ASKS_LEVELS = re.compile(r"几颗星|几个星|几种|哪几|哪些|几个等级|几档|怎么评|咋评|评什么|评啥")
KIND_BY_INTENT = {"report_problem": "report", "complain": "complain", "suggest": "suggest", "praise": "praise"}
INTAKE_SLOTS = ("wo_description", "wo_place", "wo_phone", "wo_phone_confirm", "wo_kind", "wo_township", "wo_digits",
                "wo_village", "wo_class", "wo_request_id", "wo_tries")
QUERY_SLOTS = ("wo_query_phone", "wo_last4", "wo_code", "wo_verify_fails", "wo_rating", "wo_rate_order",
               "wo_digits")
EMERGENCY_RESPONSES = {"119": "utter_emergency_fire", "120": "utter_emergency_medical",
                       "110": "utter_emergency_police", "122": "utter_emergency_traffic"}
VERIFY_FAILED = "failed"
NO_PHONE = "none"
UNKNOWN_PLACE = "unknown"

# Words that only say "I want to report something" (no content of their own).
_FILLER = re.compile(
    r"我要|我想|我得|想要|想|要|给你们|跟你们|向你们|向|你们|政府|领导|投诉|反映|举报|报告|提|个|一个|一下|建议|表扬|"
    r"感谢|意见|问题|情况|事情|事儿|事|的|了|啊|呀|吧|呢|我|有|件|点|帮|帮忙|求助|请|说|说说|喂|你好|下|条|"
    r"一件|能不能|可以|吗|这里|这|那|在|给|找|12345|热线")


# --- shared helpers --------------------------------------------------------------------------
_SERVICE = None


def service():
    """One WorkOrderService (one redis.asyncio client) per process, created on first use."""
    global _SERVICE
    if _SERVICE is None:
        _SERVICE = WorkOrderService.from_url()   # the domain makes its own Redis client
    return _SERVICE


def set_service(svc) -> None:
    """Tests: use this service (e.g. bound to the test's Redis and event loop)."""
    global _SERVICE
    _SERVICE = svc


def _last_user_metadata(tracker: Tracker) -> dict:
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return event.get("metadata") or {}
    return (tracker.latest_message or {}).get("metadata") or {}


def channel_of(tracker: Tracker) -> str:
    channel = _last_user_metadata(tracker).get("channel")
    return channel if channel in settings.CHANNELS else "api"


def is_voice(tracker: Tracker) -> bool:
    return channel_of(tracker) == "voice"


def caller_phone(tracker: Tracker) -> str | None:
    """The caller's mobile number from the channel metadata, when it is a valid one."""
    raw = _last_user_metadata(tracker).get("caller")
    if not raw:
        return None
    ok, number, _ = validate_phone(str(raw))
    return number if ok else None


def _more_digits(tracker: Tracker, text: str, slot: str) -> dict | None:
    """A phone number said in pieces: keep the first pieces (up to 8 digits) and ask for the rest."""
    piece = spoken_digits(text)
    so_far = (tracker.get_slot("wo_digits") or "") + piece
    if piece and len(so_far) <= 8 and not answers.no_phone(text):
        return {slot: None, "wo_digits": so_far}
    return None


class _AskNumber(Action):
    """The number question, or "记下了5位，还差6位" while it is said in pieces."""
    slot = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    def run(self, dispatcher, tracker, domain):
        so_far = tracker.get_slot("wo_digits") or ""
        if so_far:
            dispatcher.utter_message(response="utter_wo_digits_more", count=len(so_far), missing=11 - len(so_far))
            dispatcher.utter_message(json_message=ask_event(self.slot, tracker))
        else:
            dispatcher.utter_message(response=f"utter_ask_{self.slot}")
        return []


class ActionAskWoPhone(_AskNumber):
    slot = "wo_phone"


class ActionAskWoQueryPhone(_AskNumber):
    slot = "wo_query_phone"


def _digits(text: str) -> str:
    return re.sub(r"\D", "", to_digits(text or ""))


def read_phone_back(number: str, voice: bool) -> str:
    """'13812345678' -> 3-4-4 groups read digit by digit."""
    return read_phone(number, voice=voice)


def has_content(text: str) -> bool:
    """True when the message says what happened, not only "我要投诉"."""
    rest = _FILLER.sub("", re.sub(r"[\s，。,.!！?？、~]", "", text or ""))
    return len(re.findall(r"[\u4e00-\u9fff]", rest)) >= 3


def month_day(iso_text: str | None, prefix: str = "") -> dict[str, int]:
    """'2026-03-02T…' -> {month: 3, day: 2} (keys prefixed) for the responses that say a date."""
    m = re.match(r"\d{4}-(\d{2})-(\d{2})", iso_text or "")
    return {f"{prefix}month": int(m.group(1)), f"{prefix}day": int(m.group(2))} if m else {}


def reference_text(order: dict, voice: bool) -> str:
    return (order.get("spoken_reference") or order["id"]).replace(" ", "") if voice else order["id"]


def _user_turns(tracker: Tracker) -> int:
    return sum(1 for e in tracker.events if e.get("event") == "user")


def _reset(names) -> list[dict[str, Any]]:
    return [SlotSet(n, None) for n in names]


async def _run_blocking(func, *args):
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)


def _classify(text: str, place: dict) -> Any:
    return classify(text, {"location": place} if place else None)


def _locate(text: str) -> dict:
    return default_directory().locate(text)


# --- intake ----------------------------------------------------------------------------------
class ActionStartWorkorder(Action):
    """Start intake: remember the kind, prefill the description when the message has content
    and the callback phone when the channel knows the caller."""

    def name(self) -> str:
        return "action_start_workorder"

    def run(self, dispatcher, tracker, domain):
        message = tracker.latest_message or {}
        intent = (message.get("intent") or {}).get("name")
        text = (message.get("text") or "").strip()
        if intent in KIND_BY_INTENT and _RATE_REQUEST.search(text) \
                or intent == "praise" and _PAST_CASE.search(text):
            # "那个噪音的事儿让俺评价": the report words name the matter rated, the caller rates;
            # "阿拉要表扬一记，上趟认证额事体": praise for a matter handled before is its rating
            return [FollowupAction("action_start_rating")]
        follow_up = intent not in KIND_BY_INTENT   # started for a problem the catalogue knows
        if follow_up and not has_content(text):   # "帮我登记": what happened was said just before
            said = [e.get("text") or "" for e in reversed(tracker.events) if e.get("event") == "user"]
            text = next((t for t in said[1:4] if has_content(t)), text)
        events = _reset(INTAKE_SLOTS)
        events += [SlotSet("wo_kind", KIND_BY_INTENT.get(intent, "report")),
                   SlotSet("wo_request_id", f"{tracker.sender_id}-{_user_turns(tracker)}")]
        if has_content(text):
            events.append(SlotSet("wo_description", text))
        phone = caller_phone(tracker)
        if phone:
            events.append(SlotSet("wo_phone", phone))
        return events + ([FollowupAction("workorder_form")] if follow_up else [])


def said_matter(tracker: Tracker, text: str) -> str | None:
    """The matter the bot's NLU named, clearly (no "A or B?"), in the words the description came
    from: classify() searches the catalogue's words alone, strictly, and finds none in "村那条路遭水
    冲垮了" or "包工头欠我们工资", which the NLU's ranking (catalogue words fused with sentence
    embeddings, bot/nlu/matter.py) names. A description taken from an earlier turn ("帮我登记" after
    a catalogue answer about a problem) is about the matter that answer was about."""
    message = tracker.latest_message or {}
    if (message.get("text") or "").strip() != text:
        return offered_matter(tracker) if text else None
    entities = {e.get("entity"): e.get("value") for e in message.get("entities") or []}
    return entities.get("matter") if not entities.get("matter_alt") else None


def start_intake() -> list[dict[str, Any]]:
    """Events that take what the caller said as a 12345 report (the intake form follows)."""
    return [SlotSet("matter_offer", None), FollowupAction("action_start_workorder")]


def apply_kind(cls: dict, kind: str | None) -> dict:
    """The intent the caller used says more about the type than the text model does."""
    return {**cls, **KIND_CLASSIFICATION.get(kind or "", {})}


def drop_resets(tracker: Tracker) -> None:
    """When a form starts, the slots its start action just reset are among the candidates
    rasa_sdk validates: a reset is not an answer (it made every question fail at once,
    "号码没听清，先不留电话" before the phone was asked)."""
    i = len(tracker.events)
    while i > 0 and tracker.events[i - 1].get("event") == "slot":
        i -= 1
    tracker.events[i:] = [e for e in tracker.events[i:] if e.get("value") is not None]


def held_back_answer(tracker: Tracker) -> tuple[str, str] | None:
    """(slot, text) when the words the slot mappings held back as "maybe an emergency"
    (intent emergency_check: the number was named first, bot/data/workorders/rules.yml) answer
    the question asked ("马家集乡马家集村，就集上十字路口那家", a phone number with talk after it):
    the form takes them as the answer, as the guided form does."""
    slot = tracker.get_slot("requested_slot")
    message = tracker.latest_message or {}
    text = (message.get("text") or "").strip()
    if (message.get("intent") or {}).get("name") != "emergency_check" or not text or tracker.get_slot(slot or "_"):
        return None
    if slot == "wo_place":
        heard, options = resolve_place(text)
        return (slot, text) if heard or options else None
    if slot in ("wo_phone", "wo_phone_confirm"):   # a number, or none ("打我儿子的嘛…幺八拐八五，…")
        said = len(spoken_digits(text)) >= 7 or answers.no_phone(text)
        return (slot, text) if said else None
    return None


class ValidateWorkorderForm(FormValidationAction):
    def name(self) -> str:
        return "validate_workorder_form"

    async def run(self, dispatcher, tracker, domain):
        drop_resets(tracker)
        held = held_back_answer(tracker)
        if held:
            tracker.add_slots([SlotSet(*held)])
        return await super().run(dispatcher, tracker, domain)

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        cls = tracker.get_slot("wo_class") or {}
        if cls.get("refusal") or cls.get("emergency"):
            return []  # action_submit_workorder says why; no order
        slots = ["wo_description"]
        if not (tracker.get_slot("wo_township") or tracker.get_slot("wo_village")):
            slots.append("wo_place")
        slots.append("wo_phone")
        if tracker.get_slot("wo_phone") != NO_PHONE:
            slots.append("wo_phone_confirm")
        return slots

    async def validate_wo_description(self, value, dispatcher, tracker, domain):
        text = str(value or "").strip()
        if not has_content(text):
            dispatcher.utter_message(response="utter_wo_more_detail")
            return {"wo_description": None}
        place = {k: v for k, v in (("township", tracker.get_slot("wo_township")),
                                   ("village", tracker.get_slot("wo_village"))) if v}
        try:
            c = await _run_blocking(_classify, text, place)
        except Exception:  # noqa: BLE001 - a person classifies it later
            log.exception("classify() failed during intake")
            return {"wo_description": text[:2000], "wo_class": {}}
        if c.emergency:
            return {"wo_description": text[:2000], "wo_class": {"emergency": c.emergency}}
        if c.refusal:
            return {"wo_description": text[:2000], "wo_class": {"refusal": c.refusal.get("reason_zh")}}
        cls = apply_kind({"category": c.category, "type": c.type, "urgency": c.urgency, "emotion": c.emotion,
                          "matter_id": c.matter_id or said_matter(tracker, text)}, tracker.get_slot("wo_kind"))
        out = {"wo_description": text[:2000], "wo_class": cls}
        loc = c.location or {}
        if loc.get("township") or loc.get("village"):
            out.update(wo_township=loc.get("township"), wo_village=loc.get("village"),
                       wo_place="".join(x for x in (loc.get("township"), loc.get("village")) if x))
        return out

    async def validate_wo_place(self, value, dispatcher, tracker, domain):
        text = re.sub(r"[，。,.!！?？\s]", "", str(value or ""))
        tries = int(tracker.get_slot("wo_tries") or 0)
        try:
            loc = await _run_blocking(_locate, text) if text else {}
        except Exception:  # noqa: BLE001 - directory broken: keep the caller's words
            log.exception("directory lookup failed")
            loc = {}
        if not (loc.get("township") and loc.get("village")):
            # "大坪乡石们村": an ASR slip that sounds like a village of the township said
            heard, _ = resolve_place(text)
            if heard and heard.get("village"):
                loc = heard
        if loc.get("township") or loc.get("village"):
            return {"wo_place": text, "wo_township": loc.get("township"), "wo_village": loc.get("village"),
                    "wo_tries": 0}
        if answers.dont_know(text) or tries >= 1:
            if re.search(r"[\u4e00-\u9fff]{2,}(?:镇|乡|村|街道|社区|组|屯)", text):
                # Not in the directory, but a place in the caller's words: a person checks it.
                return {"wo_place": text[:40], "wo_village": text[:40], "wo_tries": 0}
            return {"wo_place": UNKNOWN_PLACE, "wo_tries": 0}
        dispatcher.utter_message(response="utter_wo_place_again")
        return {"wo_place": None, "wo_tries": tries + 1}

    async def validate_wo_phone(self, value, dispatcher, tracker, domain):
        text = str(value or "")
        tries = int(tracker.get_slot("wo_tries") or 0)
        if text == NO_PHONE or (answers.no_phone(text) and len(_digits(text)) < 7):
            if answers.anonymous(text):
                dispatcher.utter_message(response="utter_wo_anonymous")
            else:
                dispatcher.utter_message(response="utter_wo_no_phone")
            return {"wo_phone": NO_PHONE, "wo_tries": 0}
        more = _more_digits(tracker, text, "wo_phone")
        if more:
            return more
        buffer = DigitBuffer(11, tracker.get_slot("wo_digits") or "")
        buffer.add(text)   # the whole number said again replaces the pieces
        ok, number, reason = validate_phone(buffer.digits)
        if ok:
            return {"wo_phone": number, "wo_tries": 0, "wo_digits": None}
        if tries >= 1:
            dispatcher.utter_message(response="utter_wo_phone_given_up")
            return {"wo_phone": NO_PHONE, "wo_tries": 0}
        if reason != WRONG_LENGTH:
            dispatcher.utter_message(response="utter_wo_phone_prefix_again")
        elif number:
            dispatcher.utter_message(response="utter_wo_phone_length_again", heard=len(number))
        else:
            dispatcher.utter_message(response="utter_wo_phone_unheard_again")
        return {"wo_phone": None, "wo_tries": tries + 1, "wo_digits": None}

    async def validate_wo_phone_confirm(self, value, dispatcher, tracker, domain):
        text = str(value or "").strip()
        buffer = DigitBuffer(11, "")
        buffer.add(text)   # a correction inside the number counts ("九五六八，哎不对，是九五九八")
        ok, number, _ = validate_phone(buffer.digits if buffer.complete else text)
        if ok and number == tracker.get_slot("wo_phone"):   # the offered number said back: a yes
            return {"wo_phone_confirm": "yes"}
        if ok:  # "不对，是139……": a new number, read it back again
            return {"wo_phone": number, "wo_phone_confirm": None}
        if answers.no_phone(text) and len(_digits(text)) < 7:
            # offered the calling number: "唔留啦，我唔想俾人知系我讲嘅" is no phone, as when asked for one
            return {**await self.validate_wo_phone(NO_PHONE if not answers.anonymous(text) else text, dispatcher,
                                                   tracker, domain), "wo_phone_confirm": None}
        answer = answers.yes_no(text, "对吗", yes_words=("就这个", "打这个"), no_words=("换一个", "换个"))
        if answer is False:
            return {"wo_phone": None, "wo_phone_confirm": None}
        if answer is True:
            return {"wo_phone_confirm": "yes"}
        dispatcher.utter_message(response="utter_wo_say_yes_no")
        return {"wo_phone_confirm": None}


class ActionAskWoPhoneConfirm(Action):
    def name(self) -> str:
        return "action_ask_wo_phone_confirm"

    def run(self, dispatcher, tracker, domain):
        number = tracker.get_slot("wo_phone") or ""
        said = read_phone_back(number, is_voice(tracker))
        mine = bool(number) and number == caller_phone(tracker)
        dispatcher.utter_message(response="utter_wo_phone_readback_caller" if mine else "utter_wo_phone_readback",
                                 number=said)
        dispatcher.utter_message(json_message=ask_event("wo_phone_confirm", tracker))
        return []


def intake_reply(order: dict, kind: str | None, voice: bool, has_phone: bool = True) -> dict[str, Any]:
    """The response (and its values) that tells the caller the order is registered."""
    values: dict[str, Any] = {"reference": reference_text(order, voice)}
    if kind in ("praise", "suggest"):
        return {"response": f"utter_wo_registered_{kind}", **values}
    due = month_day(order.get("deadline"), "due_")
    if not due:
        return {"response": "utter_wo_registered_no_deadline", **values}
    return {"response": "utter_wo_registered" if has_phone else "utter_wo_registered_no_phone", **values, **due}


class ActionSubmitWorkorder(Action):
    def name(self) -> str:
        return "action_submit_workorder"

    async def run(self, dispatcher, tracker, domain):
        cls = dict(tracker.get_slot("wo_class") or {})
        text = tracker.get_slot("wo_description")
        if cls.get("emergency"):
            number = str(cls["emergency"])
            response = EMERGENCY_RESPONSES.get(number)
            if response:
                dispatcher.utter_message(response=response)
            else:
                dispatcher.utter_message(response="utter_wo_emergency_line", number=number)
                dispatcher.utter_message(json_message={"event": "emergency", "number": number})
            return _reset(INTAKE_SLOTS)
        if cls.get("refusal"):
            dispatcher.utter_message(response="utter_wo_refused", reason=cls["refusal"])
            return _reset(INTAKE_SLOTS)
        if not text:
            return _reset(INTAKE_SLOTS)
        place = {k: v for k, v in (("township", tracker.get_slot("wo_township")),
                                   ("village", tracker.get_slot("wo_village"))) if v}
        phone = tracker.get_slot("wo_phone")
        phone = phone if phone and phone != NO_PHONE else None
        request_id = tracker.get_slot("wo_request_id") or f"{tracker.sender_id}-{_user_turns(tracker)}"
        given = {k: cls[k] for k in ("category", "type", "urgency", "emotion", "matter_id") if cls.get(k)}
        svc = service()
        try:
            dup = await svc.find_duplicate(mask_text(text), place, category=given.get("category"),
                                           matter_id=given.get("matter_id"))
            order = await svc.create(text, channel=channel_of(tracker), caller_phone=phone, place=place,
                                     client_request_id=request_id, **given)
            merged = order.get("state") == MERGED
            if order.get("_created") and dup:
                order = await svc.transition(order["id"], "merge", None, master_id=dup["id"])
                merged = True
        except Exception as exc:  # noqa: BLE001 - Redis down, refused...: a person takes it
            log.warning("work order intake failed: %s", type(exc).__name__)
            dispatcher.utter_message(response="utter_wo_intake_failed")
            return handoff_events(dispatcher, "workorder_failed") + _reset(INTAKE_SLOTS)
        log.info("work order %s from conversation (created=%s, merged=%s)", order["id"],
                 order.get("_created", True), merged)
        if merged:
            dispatcher.utter_message(response="utter_wo_merged" if phone else "utter_wo_merged_no_phone")
        else:
            dispatcher.utter_message(**intake_reply(order, tracker.get_slot("wo_kind"), is_voice(tracker),
                                                    has_phone=bool(phone)))
        dispatcher.utter_message(json_message={"event": "registered", "reference": order["id"]})
        return _reset(INTAKE_SLOTS) + [SlotSet("wo_ref", order["id"])]


# --- progress and rating: who is asking ------------------------------------------------------
# A caller's orders are read (and rated) only for a phone the caller has proved to hold: the one
# the call comes from (the channel's caller id), or one a one-time code was sent to by SMS and said
# back (workorders/otp.py). A number merely said proves nothing: anyone can say a neighbour's number.
def _known_phone(tracker: Tracker) -> str | None:
    """The caller id, or a phone proved by a code earlier in this conversation."""
    return caller_phone(tracker) or tracker.get_slot("wo_verified_phone")


_SMS = None


def sms_client():
    """The SMS gateway client (clients/sms.py), or None when none is configured."""
    global _SMS
    if _SMS is None:
        from clients.sms import SmsClient

        _SMS = SmsClient.from_env() or False
    return _SMS or None


def one_time_codes() -> OneTimeCodes:
    """Codes kept beside the work orders (same Redis client and key prefix as service())."""
    svc = service()
    return OneTimeCodes(svc.redis, svc.store.p)


async def find_rateable(out: dict, phone: str, dispatcher) -> dict:
    """`out` plus the proved phone's newest completed, unrated order (wo_rate_order); without one,
    say so and end the rating (wo_last4 = failed)."""
    svc = service()
    try:
        result = await svc.progress_for_caller(out["wo_last4"], phone)
        order = await rateable_order(svc, result["orders"]) if result["verified"] else None
    except Exception as exc:  # noqa: BLE001
        log.warning("rating lookup failed: %s", type(exc).__name__)
        order = None
    if order is None:
        dispatcher.utter_message(response="utter_wo_nothing_to_rate")
        return {**out, "wo_last4": VERIFY_FAILED, "wo_verify_fails": 0}
    return {**out, "wo_rate_order": order["id"]}


def _failed(dispatcher, response: str) -> dict:
    """Verification is over: a person checks (the form ends; the next action hands off)."""
    dispatcher.utter_message(response=response)
    return {"wo_query_phone": NO_PHONE, "wo_last4": VERIFY_FAILED, "wo_verify_fails": 2, "wo_digits": None,
            "wo_code": None}


def _start_query_events(dispatcher, tracker: Tracker) -> list[dict[str, Any]]:
    events = _reset(("wo_query_phone", "wo_last4", "wo_verify_fails", "wo_digits", "wo_code"))
    phone = _known_phone(tracker)
    if phone:
        return events + [SlotSet("wo_query_phone", phone), SlotSet("wo_last4", phone[-4:]),
                         SlotSet("wo_verified_phone", phone)]
    if sms_client() is not None:   # the form asks for the number, then for the code sent to it
        return events
    return events + [SlotSet(k, v) for k, v in _failed(dispatcher, "utter_wo_verify_own_phone_only").items()]


class ActionStartProgress(Action):
    def name(self) -> str:
        return "action_start_progress"

    def run(self, dispatcher, tracker, domain):
        return _start_query_events(dispatcher, tracker) + _reset(("wo_rate_order", "wo_rating"))


class QueryValidation:
    """Shared by the progress and rating forms: the phone used, then the one-time code sent to it
    (not asked when the call comes from that phone)."""

    async def run(self, dispatcher, tracker, domain):
        if tracker.get_slot("requested_slot") is None:
            drop_resets(tracker)
        return await super().run(dispatcher, tracker, domain)

    async def validate_wo_query_phone(self, value, dispatcher, tracker, domain):
        if value == NO_PHONE:   # verification already over (no way to check)
            return {"wo_query_phone": NO_PHONE}
        more = _more_digits(tracker, str(value or ""), "wo_query_phone")
        if more:
            return more
        ok, number, _ = validate_phone((tracker.get_slot("wo_digits") or "") + spoken_digits(str(value or "")))
        if not ok:
            fails = int(tracker.get_slot("wo_verify_fails") or 0) + 1
            if fails >= 2:
                return _failed(dispatcher, "utter_wo_query_phone_failed")
            dispatcher.utter_message(response="utter_wo_query_phone_again")
            return {"wo_query_phone": None, "wo_verify_fails": fails, "wo_digits": None}
        if number == _known_phone(tracker):
            return {"wo_query_phone": number, "wo_digits": None}
        sms = sms_client()
        if sms is None:
            return _failed(dispatcher, "utter_wo_verify_own_phone_only")
        try:
            code = await one_time_codes().issue(number)
            text = domain["responses"]["utter_sms_one_time_code"][0]["text"].format(code=code)
            await sms.send(number, text, purpose="otp")
        except Exception as exc:  # noqa: BLE001 - too many codes (429), gateway down, Redis down
            log.warning("one-time code not sent: %s", type(exc).__name__)
            return _failed(dispatcher, "utter_wo_code_not_sent")
        dispatcher.utter_message(response="utter_wo_code_sent")
        return {"wo_query_phone": number, "wo_digits": None, "wo_code": None, "wo_verify_fails": 0}

    async def validate_wo_code(self, value, dispatcher, tracker, domain):
        phone = tracker.get_slot("wo_query_phone")
        code = spoken_digits(str(value or ""))
        right = False
        if len(code) == 6 and phone and phone != NO_PHONE:
            try:
                right = await one_time_codes().check(phone, code)
            except Exception as exc:  # noqa: BLE001 - Redis down: cannot check, a person will
                log.warning("one-time code check failed: %s", type(exc).__name__)
                return _failed(dispatcher, "utter_wo_code_failed")
        if right:
            return {"wo_code": "ok", "wo_last4": phone[-4:], "wo_verified_phone": phone, "wo_verify_fails": 0}
        fails = int(tracker.get_slot("wo_verify_fails") or 0) + 1
        if fails >= 2:
            return {**_failed(dispatcher, "utter_wo_code_failed"), "wo_code": VERIFY_FAILED}
        dispatcher.utter_message(response="utter_wo_code_wrong")
        return {"wo_code": None, "wo_verify_fails": fails}


class ValidateWoProgressForm(QueryValidation, FormValidationAction):
    def name(self) -> str:
        return "validate_wo_progress_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        if tracker.get_slot("wo_last4"):   # verified (caller id or code) or failed
            return []
        return ["wo_query_phone", "wo_code"]


def progress_message(item: dict) -> dict[str, Any]:
    """One order's status in plain words (titles are stored masked): a response and its values."""
    words = STATE_PROGRESS.get(item["state"]) or item.get("state_label") or ""
    title = (item.get("title") or "").strip()
    values = {"status": words.format(unit=item.get("unit") or SOME_UNIT),
              "title": title if len(title) <= 12 else title[:12] + "……", **month_day(item.get("created_at"))}
    due = month_day(item.get("deadline"), "due_") if item["state"] in WAITING_FOR_UNIT else {}
    return {"response": "utter_wo_progress_item_due" if due else "utter_wo_progress_item", **values, **due}


def needs_rating(order: dict) -> bool:
    if order.get("state") not in RATEABLE_STATES:
        return False
    ratings = order.get("ratings") or []
    if not ratings:
        return True
    return bool(order.get("completed_at")) and ratings[-1].get("at", "") < order["completed_at"]


async def rateable_order(svc, items: list[dict]) -> dict | None:
    """The most recent completed order the caller has not rated yet."""
    for item in items:  # newest first
        if item["state"] in RATEABLE_STATES:
            order = await svc.get(item["id"])
            if needs_rating(order):
                return order
    return None


class ActionWorkorderProgress(Action):
    def name(self) -> str:
        return "action_workorder_progress"

    async def run(self, dispatcher, tracker, domain):
        phone, last4 = tracker.get_slot("wo_query_phone"), tracker.get_slot("wo_last4")
        done = _reset(("wo_query_phone", "wo_last4", "wo_verify_fails"))
        if last4 == VERIFY_FAILED:
            return done + handoff_events(dispatcher, "verification_failed")
        if not phone or not last4:
            return done
        svc = service()
        try:
            result = await svc.progress_for_caller(last4, phone)
            items = result["orders"] if result["verified"] else []
            rate = await rateable_order(svc, items)
        except Exception as exc:  # noqa: BLE001
            log.warning("progress query failed: %s", type(exc).__name__)
            dispatcher.utter_message(response="utter_wo_progress_failed")
            return done + handoff_events(dispatcher, "progress_failed")
        if not items:
            # filed under another number, or by someone else: a person can look it up by other details
            dispatcher.utter_message(response="utter_wo_progress_none")
            dispatcher.utter_message(response="utter_wo_progress_offer_human")
            dispatcher.utter_message(json_message=ask_event("human_offer", tracker))
            return done + [SlotSet("matter_offer", "human")]
        for item in items[:2]:
            dispatcher.utter_message(**progress_message(item))
        if len(items) > 2:
            dispatcher.utter_message(response="utter_wo_progress_more", count=len(items) - 2)
        if rate is not None:   # the caller is proved already: the rating form asks only the rating
            return done + [SlotSet("wo_rate_order", rate["id"]), SlotSet("wo_rating", None),
                           SlotSet("wo_query_phone", phone), SlotSet("wo_last4", last4),
                           FollowupAction("wo_rating_form")]
        return done


# --- rating ----------------------------------------------------------------------------------
def _level(value) -> str | None:
    try:
        return normalize_level(value)
    except Exception:  # noqa: BLE001 - WorkOrderError: not a rating
        return None


class ActionStartRating(Action):
    """"我要评价" / "我对处理结果不满意" / "给12345202603020001打个满意": find the order first."""

    def name(self) -> str:
        return "action_start_rating"

    async def run(self, dispatcher, tracker, domain):
        text = (tracker.latest_message or {}).get("text") or ""
        if puts_off_offer(tracker) and answers.rating(text) is None:
            # "哦，还没到啊，那我到辰光再打" to "需要我帮您登记吗？": calling again later puts the offer
            # off, it rates nothing (the model hears a call about a finished matter)
            return decline_offer(dispatcher, tracker)
        events = _start_query_events(dispatcher, tracker) + [SlotSet("wo_rate_order", None)]
        m = re.search(r"12345\d{12}", re.sub(r"\s", "", text))
        if m:
            events.append(SlotSet("wo_rate_order", m.group(0)))
        else:
            started = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
            phone = started.get("wo_verified_phone")
            if phone and started.get("wo_last4") == phone[-4:]:   # proved already: find the order now
                found = await find_rateable({"wo_last4": phone[-4:]}, phone, dispatcher)
                events += [SlotSet(k, v) for k, v in found.items()]
        level = tracker.get_slot("wo_rating")
        events.append(SlotSet("wo_rating", _level(level) if level else None))
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        if intent != "rate_service":   # reached from intake ("…的事儿让俺评价"): the rules start no form
            events.append(FollowupAction("wo_rating_form"))
        return events


class ValidateWoRatingForm(QueryValidation, FormValidationAction):
    def name(self) -> str:
        return "validate_wo_rating_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        if tracker.get_slot("wo_last4") == VERIFY_FAILED:
            return []
        if not tracker.get_slot("wo_last4"):   # not verified yet
            return ["wo_query_phone", "wo_code", "wo_rating"]
        return ["wo_rating"]   # the order named or found; ActionSubmitRating checks it is theirs

    async def validate_wo_code(self, value, dispatcher, tracker, domain):
        out = await super().validate_wo_code(value, dispatcher, tracker, domain)
        if out.get("wo_code") != "ok" or tracker.get_slot("wo_rate_order"):
            return out
        return await find_rateable(out, out["wo_verified_phone"], dispatcher)

    async def validate_wo_rating(self, value, dispatcher, tracker, domain):
        level = _level(value)
        if level is None:
            if not _ASKS_LEVELS.search(str(value or "")):
                dispatcher.utter_message(response="utter_wo_rating_again")
            # "评几颗星啊？有哪几种？": the question again names all five levels
            return {"wo_rating": None}
        return {"wo_rating": level}


class ActionSubmitRating(Action):
    def name(self) -> str:
        return "action_submit_rating"

    async def run(self, dispatcher, tracker, domain):
        order_id, level = tracker.get_slot("wo_rate_order"), _level(tracker.get_slot("wo_rating") or "")
        done = _reset(QUERY_SLOTS)
        if tracker.get_slot("wo_last4") == VERIFY_FAILED:
            if int(tracker.get_slot("wo_verify_fails") or 0) >= 2:
                return done + handoff_events(dispatcher, "verification_failed")
            return done
        if not order_id or not level:
            return done
        phone = tracker.get_slot("wo_verified_phone")
        try:
            svc = service()
            # Only the caller who filed the order rates it: the order's phone must be the proved one.
            if not phone or (await svc.get(order_id)).get("phone_hash") != phone_hash(phone):
                dispatcher.utter_message(response="utter_wo_rating_not_yours")
                return done + handoff_events(dispatcher, "verification_failed")
            await svc.rate(order_id, level, channel=channel_of(tracker))
        except Exception as exc:  # noqa: BLE001 - not found / not rateable / Redis down
            log.warning("rating of %s failed: %s", order_id, type(exc).__name__)
            dispatcher.utter_message(response="utter_wo_rating_failed")
            return done + handoff_events(dispatcher, "rating_failed")
        log.info("work order %s rated %s", order_id, level)
        dispatcher.utter_message(json_message={"event": "rated", "level": level})
        dispatcher.utter_message(response="utter_wo_rated_bad" if level in BAD_LEVELS else "utter_wo_rated")
        return done


class ActionWoResume(Action):
    """`/call_start` while one of our forms is open: welcome back, the form asks again."""

    def name(self) -> str:
        return "action_wo_resume"

    def run(self, dispatcher, tracker, domain):
        loop = (tracker.active_loop or {}).get("name")
        ours = loop in ("workorder_form", "wo_progress_form", "wo_rating_form")
        dispatcher.utter_message(response=f"utter_wo_resume_{loop}" if ours else "utter_wo_resume")
        return []
