"""Actions around the guided form: start a flow, answer a question mid-form, stop,
hand off, pause on an emergency, and register the request when the form is done."""
from __future__ import annotations

import logging
import uuid

from rasa_sdk import Action
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet

from bot.actions import flow_specs as specs
from bot.actions.core import handoff_events
from bot.actions.forms import FORM_SLOTS, STATE_SLOTS, channel_of, is_voice
from common.privacy import mask_text

log = logging.getLogger(__name__)
ASPECTS = {"ask_materials": "materials", "ask_fee": "fee", "ask_time": "time", "ask_where": "where",
           "ask_online": "online", "ask_proxy": "proxy", "ask_eligibility": "eligibility",
           "ask_matter": "overview"}


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
        flow = specs.pick_flow(tracker.latest_message.get("text") or "", entity or tracker.get_slot("matter"))
    if flow is None:  # "我身份证丢了" ... "帮我登记": look at what was said just before
        for text in recent_user_texts(tracker, 3)[1:]:
            flow = specs.pick_flow(text)
            if flow:
                break
    events = reset_events() + [SlotSet("flow_request_id", uuid.uuid4().hex), SlotSet("handoff", False),
                               SlotSet("matter_offer", None)]  # the catalogue's offer is taken up
    if flow is None:
        return events  # the form asks "您要办哪件事？"
    spec = specs.spec(flow)
    dispatcher.utter_message(text=spec.get("start", "好的。"))
    return events + [SlotSet("flow", flow), SlotSet("matter", spec["matter"])]


class ActionStartFlow(Action):
    """Pick the flow from what was said (or the matter being talked about) and start the form."""

    def name(self) -> str:
        return "action_start_flow"

    def run(self, dispatcher, tracker, domain):
        return start_flow(dispatcher, tracker)


class ActionTakeOffer(Action):
    """"要/好" outside a form takes up what the last answer offered: the materials one by
    one, or registration (the guided form starts at once)."""

    def name(self) -> str:
        return "action_take_offer"

    def run(self, dispatcher, tracker, domain):
        offer = tracker.get_slot("matter_offer")
        if offer == "materials":
            from bot.actions.catalogue import ActionAnswerMatter

            return ActionAnswerMatter().run(dispatcher, tracker, domain)
        if offer == "register":
            return start_flow(dispatcher, tracker, specs.pick_flow("", tracker.get_slot("matter"))) + [
                FollowupAction("flow_form")]
        dispatcher.utter_message(text="好的。您还有什么要办的？")
        return []


class ActionFlowAnswer(Action):
    """A question in the middle of a form ("要带什么？"): answer it from the catalogue;
    the form then asks its pending question again."""

    def name(self) -> str:
        return "action_flow_answer"

    def run(self, dispatcher, tracker, domain):
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        aspect = ASPECTS.get(intent, "overview")
        flow = tracker.get_slot("flow")
        matter = specs.matter(flow) if flow else None
        if matter is None:
            dispatcher.utter_message(text="这个我等会儿告诉您。")
            return []
        from catalogue.answers import fact_sentences

        dispatcher.utter_message(text="".join(fact_sentences(matter, aspect)))
        return [SlotSet("flow_asked", None)] if aspect == "overview" else []


class ActionFlowStop(Action):
    """"算了/不办了": the form stops, nothing is registered, the caller is told so."""

    def name(self) -> str:
        return "action_flow_stop"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="好的，这件事先不办了，刚才说的都不登记。还有别的事吗？")
        return [ActiveLoop(None), SlotSet("requested_slot", None)] + reset_events()


class ActionFlowHandoff(Action):
    """"转人工" inside a form: stop the form, keep what was collected for the person."""

    def name(self) -> str:
        return "action_flow_handoff"

    def run(self, dispatcher, tracker, domain):
        return [ActiveLoop(None), SlotSet("requested_slot", None)] + handoff_events(dispatcher, "user_request")


class ActionFlowPause(Action):
    """After an emergency answer inside a form: stop asking questions."""

    def name(self) -> str:
        return "action_flow_pause"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="急事要紧。办事的事先放一放，您回头再找我。")
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("flow_done", "paused")]


class ActionFlowSlowDown(Action):
    """"说慢点" inside a form: slower speech; the form repeats its question."""

    def name(self) -> str:
        return "action_flow_slow_down"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(response="utter_slow_down")
        return [SlotSet("speech_rate", "slow"), SlotSet("flow_asked", None)]


class ActionFlowSubmit(Action):
    """The form is done: register the request when the caller confirmed, else just close."""

    def name(self) -> str:
        return "action_flow_submit"

    async def run(self, dispatcher, tracker, domain):
        done = tracker.get_slot("flow_done")
        if done != "confirmed":
            return reset_events(keep=("flow_done",)) if done else []
        flow = tracker.get_slot("flow")
        spec, matter = specs.spec(flow), specs.matter(flow)
        try:
            reg = await register(tracker, spec, matter)
        except Exception:  # noqa: BLE001 - nothing is lost: the slots stay, a person takes over
            log.exception("registration failed for flow %s", flow)
            dispatcher.utter_message(text="不好意思，登记没成功。")
            return handoff_events(dispatcher, "registration_failed")
        spoken = reg.spoken if is_voice(tracker) else reg.reference
        dispatcher.utter_message(text=f"登记好了。您的编号是：{spoken}。")
        dispatcher.utter_message(text=f"我再念一遍：{reg.spoken}。工作人员会打电话联系您，短信也会发给您。")
        dispatcher.utter_message(text="还有别的事吗？")
        return reset_events(keep=("flow_done",)) + [SlotSet("flow_ref", reg.reference)]


async def register(tracker, spec: dict, matter: dict):
    from bot.actions.registration import register_request

    who = specs.FOR_WHOM_LABELS.get(tracker.get_slot("for_whom") or "self", "本人")
    answers = "；".join(f"{q['ask']}{tracker.get_slot(slot)}" for slot, q in
                       zip(specs.QUESTION_SLOTS, spec.get("questions", [])) if tracker.get_slot(slot))
    id_number = tracker.get_slot("id_number")
    id_number = None if id_number in (None, "unknown") else id_number
    verb = "请工作人员协助办理" if spec.get("register_as") == "help_request" else "办理"
    summary = mask_text(f"智能助手登记：为{who}{verb}“{matter['name']}”。{answers}")
    reg = await register_request(
        matter_id=matter["id"], matter_name=matter["name"], summary=summary, channel=channel_of(tracker),
        name=tracker.get_slot("applicant_name"), phone=tracker.get_slot("phone"), id_number=id_number,
        village=tracker.get_slot("village"),
        client_request_id=f"flow-{tracker.sender_id}-{tracker.get_slot('flow_request_id')}")
    if reg.created:
        try:
            await send_summary(tracker, matter, reg.reference)
        except Exception:  # noqa: BLE001 - the request is registered; the SMS text is secondary
            log.exception("outbox record failed for %s", reg.reference)
    return reg


async def send_summary(tracker, matter: dict, reference: str) -> None:
    """SMS text (and a mini-program card on that channel) into the outbox."""
    from bot.actions import outbox

    materials = [it["name"] for it in matter["materials"]["items"] if not it.get("optional")]
    text = outbox.sms_text(matter["name"], reference, specs.fact(matter, "where"), materials)
    from bot.actions.workorders import service

    client = service().redis  # the process-wide pool, not a new connection per call
    await outbox.add(client, kind="sms", phone=tracker.get_slot("phone"), text=text, reference=reference,
                     sender_id=tracker.sender_id)
    if channel_of(tracker) == "miniprogram":
        await outbox.add(client, kind="miniprogram", phone=None, text=text, reference=reference,
                         sender_id=tracker.sender_id)
