"""Actions around the guided form: start a flow, take up an offer, pause on an emergency,
and register the request when the form is done (commands inside the form: forms.py)."""
from __future__ import annotations

import logging
import re
import uuid

from rasa_sdk import Action
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet

from bot.actions import flow_specs as specs
from bot.actions.core import handoff_events
from bot.actions.registration import register_request
from bot.actions.forms import FORM_SLOTS, NO_PHONE, STATE_SLOTS, channel_of, flow_matter, is_voice
from common.privacy import mask_text
from textnorm import answers

log = logging.getLogger(__name__)

# "我想办个残疾证" / "帮我老伴补张社保卡" / "要给孩子上户口": the caller wants it done, not
# explained; "想问下注销户口" / "残疾证怎么办" asks about it (the guide answers first).
WANTS_IT_DONE = re.compile(r"(想|要|帮|给|替|得|需要|准备)[^，。？?]{0,8}(办|补|换|上户|落户|销|注销|申请|领|认证|交|挂失|登记|弄|整|搞|备案)"
                           r"|^(补|换|办|申请|注销|上户口|领)")
ASKS_ABOUT_IT = re.compile(r"想问|问一?下|请问|咨询|怎么|咋|如何|哪里|哪儿|多少|什么|啥|几|多久|能不能|可不可以|吗[？?]?$")


def start_flow_on_mention(dispatcher, tracker, matter_id: str | None = None):
    """Start the guided form at once when the caller wants a matter with a flow done, or
    for flows marked start_on_mention (the lost ID card: the safety question comes first)."""
    text = tracker.latest_message.get("text") or ""
    wants = WANTS_IT_DONE.search(text) and not ASKS_ABOUT_IT.search(text)
    flow = specs.flow_trigger(text)
    if flow is None and not matter_id and wants and tracker.get_slot("matter"):
        # "阿拉想先办脱" right after the answer about a matter: that matter, not a search of the words
        flow = specs.pick_flow("", tracker.get_slot("matter"))
    if flow is None:
        flow = specs.pick_flow(text, matter_id, context=matter_before(tracker))
    if flow is None:
        return None
    if not ((specs.spec(flow).get("start_on_mention") and not specs.TOLD_BEFORE.search(text)) or wants):
        return None
    return start_flow(dispatcher, tracker, flow) + [FollowupAction("flow_form")]


def matter_before(tracker) -> str | None:
    """The matter being talked about before the latest message (the slot as it was: the message's
    own matter entity has overwritten it already)."""
    seen_user = False
    for e in reversed(tracker.events):
        if e.get("event") == "user":
            seen_user = True
        elif seen_user and e.get("event") == "slot" and e.get("name") == "matter":
            return e.get("value")
    return None


def recent_user_texts(tracker, n: int) -> list[str]:
    """The last n user texts, newest first."""
    texts = [e.get("text") or "" for e in reversed(tracker.events) if e.get("event") == "user"]
    return texts[:n]


def reset_events(keep: tuple[str, ...] = ()) -> list[dict]:
    return [SlotSet(s, None) for s in FORM_SLOTS + STATE_SLOTS if s not in keep]


def start_flow(dispatcher, tracker, flow: str | None = None) -> list[dict]:
    """Events that (re)start the guided form for `flow`, or for what was said when None."""
    if flow is None:
        entity = next(tracker.get_latest_entity_values("matter"), None)
        flow = specs.pick_flow(tracker.latest_message.get("text") or "", entity or tracker.get_slot("matter"),
                               context=matter_before(tracker))
    if flow is None:  # "我身份证丢了" ... "帮我登记": look at what was said just before
        for text in recent_user_texts(tracker, 3)[1:]:
            flow = specs.pick_flow(text)
            if flow:
                break
    matter_id = tracker.get_slot("matter")
    if flow is None and matter_id and (specs.catalogue().get(matter_id) or {}).get("registrable", True):
        flow = specs.GENERIC  # every offer the bot makes can be carried out
    events = reset_events() + [SlotSet("flow_request_id", uuid.uuid4().hex), SlotSet("handoff", False),
                               SlotSet("matter_offer", None)]  # the catalogue's offer is taken up
    if flow is None:
        return events  # the form asks "您要办哪件事？"
    spec = specs.spec(flow)
    dispatcher.utter_message(text=spec.get("start", "好的。"))
    events.append(SlotSet("flow", flow))
    if spec.get("matter"):
        events.append(SlotSet("matter", spec["matter"]))
    said = tracker.latest_message.get("text") or ""
    who = answers.relation(said) if spec.get("for_whom") else None
    if who and who != "self":  # "给我妈办高龄津贴": not asked again
        events.append(SlotSet("for_whom", who))
    elif spec.get("for_whom") and _MY_OWN.search(said):  # "我身份证丢了": the caller's own
        events.append(SlotSet("for_whom", "self"))
    elif not spec.get("for_whom") and spec.get("fixed_for_whom"):   # 上户口: always the child
        events.append(SlotSet("for_whom", spec["fixed_for_whom"]))
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent == "request_registration" or (WANTS_IT_DONE.search(said) and not ASKS_ABOUT_IT.search(said)):
        events.append(SlotSet("flow_register", "yes"))   # asked to have it done: not asked again
    return events


# "我身份证丢了" / "俺的社保卡坏了": the caller's own card or matter
_MY_OWN = re.compile(r"^(?:我|俺|咱|阿拉|侬|额|偶)(?:的|个|额|嘅)?(?:身份证|身份正|社保卡|医保卡|户口|养老金|医保|低保|残疾证)")


class ActionStartFlow(Action):
    """Pick the flow from what was said (or the matter being talked about) and start the form."""

    def name(self) -> str:
        return "action_start_flow"

    def run(self, dispatcher, tracker, domain):
        return start_flow(dispatcher, tracker)


class ActionFlowPause(Action):
    """After an emergency answer inside a form: stop asking questions."""

    def name(self) -> str:
        return "action_flow_pause"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(response="utter_flow_emergency_first")
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("flow_done", "paused")]


class ActionFlowSubmit(Action):
    """The form is done: register the request when the caller confirmed, else just close."""

    def name(self) -> str:
        return "action_flow_submit"

    async def run(self, dispatcher, tracker, domain):
        done = tracker.get_slot("flow_done")
        if done != "confirmed":
            return reset_events(keep=("flow_done",)) if done else []
        flow = tracker.get_slot("flow")
        spec, matter = specs.spec(flow), flow_matter(tracker)
        try:
            reg = await register(tracker, spec, matter)
        except Exception:  # noqa: BLE001 - nothing is lost: the slots stay, a person takes over
            log.exception("registration failed for flow %s", flow)
            dispatcher.utter_message(response="utter_flow_register_failed")
            return handoff_events(dispatcher, "registration_failed")
        voice = is_voice(tracker)
        spoken = reg.spoken.replace(" ", "") if voice else reg.reference   # 幺二三四五，二零二六，…
        dispatcher.utter_message(response="utter_flow_registered", reference=spoken)
        if tracker.get_slot("phone") == NO_PHONE:
            dispatcher.utter_message(response="utter_flow_done_no_phone")
        else:
            dispatcher.utter_message(response="utter_flow_done_phone")
        dispatcher.utter_message(json_message={"event": "registered", "reference": reg.reference})
        dispatcher.utter_message(response="utter_anything_else")
        return reset_events(keep=("flow_done",)) + [SlotSet("flow_ref", reg.reference)]


def order_details(tracker, spec: dict) -> dict:
    """What the caller confirmed besides name, ID, phone and place, in Chinese (办理对象, 原因, answers)."""
    details = {"办理对象": specs.label("for_whom", tracker.get_slot("for_whom") or "self")}
    for slot, q in zip(specs.QUESTION_SLOTS, spec.get("questions", [])):
        value = tracker.get_slot(slot)
        if value is None:
            continue
        if q.get("detail"):
            details[specs.label("detail_names", q["detail"]) or q["detail"]] = specs.label(q["detail"], value)
    if tracker.get_slot("phone") == NO_PHONE:
        details["联系电话"] = "未留（来电人可凭编号查询）"
    return details


async def register(tracker, spec: dict, matter: dict):
    who = specs.label("for_whom", tracker.get_slot("for_whom") or "self")
    qa = []
    for slot, q in zip(specs.QUESTION_SLOTS, spec.get("questions", [])):
        value = tracker.get_slot(slot)
        if value is None:
            continue
        shown = specs.label(q.get("detail") or "answer", value) if not str(value).isdigit() else f"{value}岁"
        qa.append(f"{q['ask'].rstrip('？?')}：{shown}")
    id_number = tracker.get_slot("id_number")
    id_number = None if id_number in (None, "unknown") else id_number
    phone = tracker.get_slot("phone")
    phone = None if phone in (None, NO_PHONE) else phone
    verb = "请工作人员协助办理" if spec.get("register_as") == "help_request" else "办理"
    summary = mask_text(f"智能助手登记：为{who}{verb}“{matter['name']}”。" + "；".join(qa))
    place = tracker.get_slot("flow_place") or {}
    reg = await register_request(
        matter_id=matter["id"], matter_name=matter["name"], summary=summary, channel=channel_of(tracker),
        name=tracker.get_slot("applicant_name"), phone=phone, id_number=id_number,
        village=tracker.get_slot("village"),
        place={k: place[k] for k in ("county", "township", "village") if place.get(k)},
        details=order_details(tracker, spec),
        client_request_id=f"flow-{tracker.sender_id}-{tracker.get_slot('flow_request_id')}")
    return reg
