"""action_answer_matter: answer a question about one matter from the catalogue facts."""
from __future__ import annotations

import logging
import re

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from catalogue.answers import INTENT_ASPECT, aspect_payload, chat_answer, voice_answer
from catalogue.loader import load_catalogue
from bot.actions import flow_specs
from bot.actions.core import decline_offer, handoff_events, offered_matter, puts_off_offer
from bot.actions.flows import matter_before, start_flow, start_flow_on_mention
from bot.actions.workorders import start_intake
from catalogue.search import ACCEPT_SCORE_HINT, Hit, clarify, search, short_label
from textnorm import answers

log = logging.getLogger(__name__)

# Search results below this are not trusted as "the matter the caller means".
ACCEPT_SCORE = ACCEPT_SCORE_HINT


def which_names(catalogue, hits) -> dict:
    """The two matters of "您是要{a}，还是{b}？" (utter_ask_which_matter), by their short names unless
    those are the same."""
    a, b = (short_label(catalogue.get(h.matter_id)) for h in hits[:2])
    if a == b:
        a, b = (catalogue.get(h.matter_id)["name"] for h in hits[:2])
    return {"a": a, "b": b}


def _channel(tracker: Tracker) -> str:
    return ((tracker.latest_message or {}).get("metadata") or {}).get("channel") or ""


def resolve_matter(tracker: Tracker, catalogue) -> tuple[dict | None, list]:
    """The matter the latest message is about, and the search hits when it is unclear.

    Order: the `matter` entity (a matter id via synonyms) -> searching the entity text ->
    searching the user's words -> the `matter` slot of the conversation (follow-ups).
    """
    message = tracker.latest_message or {}
    text = (message.get("text") or "").strip()
    ents = {e.get("entity"): str(e.get("value") or "") for e in message.get("entities") or []}
    # The NLU ranked the whole catalogue (bot/nlu/matter.py): the best matter, and the
    # runner-up when the two are too close to call (then the caller is asked which).
    if ents.get("matter_alt") or (text and not text.startswith("/") and clarify(search(text, 3))):
        # Two matters too close to call: the words of a guided flow settle it ("身份证洗坏了" is
        # the renewal, "医保该交了" the payment), as they pick the flow itself.
        flow = flow_specs.flow_trigger(text)
        if flow and flow_specs.spec(flow)["matter"] in catalogue:
            return catalogue.get(flow_specs.spec(flow)["matter"]), []
    if ents.get("matter") in catalogue and ents.get("matter_alt") in catalogue:
        return None, [Hit(ents[k], catalogue.get(ents[k])["name"], 1.0, "") for k in ("matter", "matter_alt")]
    for ent in message.get("entities") or []:
        if ent.get("entity") != "matter":
            continue
        value = str(ent.get("value") or "")
        if value in catalogue:
            return catalogue.get(value), []
        hits = search(value, 3)
        if hits and hits[0].score >= ACCEPT_SCORE and not clarify(hits):
            return catalogue.get(hits[0].matter_id), []
    hits = search(text, 3) if text and not text.startswith("/") else []
    if hits and hits[0].score >= ACCEPT_SCORE:
        if clarify(hits):
            return None, hits
        return catalogue.get(hits[0].matter_id), []
    slot = tracker.get_slot("matter")
    if slot in catalogue:
        return catalogue.get(slot), []
    return None, hits


# "怎么投诉出租车" / "停水找谁": asks how or where to report, answered from the catalogue
ASKS_HOW_TO_REPORT = re.compile(r"(怎么|咋|如何|怎样|哪里|哪儿|去哪|找谁|找哪)[^，。？?]{0,3}(投诉|反映|举报|报修|报|告|找|打)|"
                                r"找谁|电话(是)?多少|哪个部门|归谁管|谁管")


def is_problem(matter: dict | None) -> bool:
    """A matter that is a problem to report (catalogue tag complaint: 停水, 路坏了, 假农资),
    registered as a 12345 work order rather than an application with name and ID."""
    return bool(matter) and "complaint" in (matter.get("tags") or [])


def _has_flow(matter_id: str) -> bool:
    return any(s.get("matter") == matter_id for s in flow_specs.flows().values())


class ActionAnswerMatter(Action):
    def name(self) -> str:
        return "action_answer_matter"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain, matter_id: str | None = None):
        """matter_id: the matter to answer when the caller's words are read elsewhere (ActionEmergencyCheck)."""
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name") or "ask_matter"
        offer = tracker.get_slot("matter_offer")
        answer = offer_answer(tracker) if intent == "ask_matter" else (
            False if puts_off_offer(tracker) else None)
        if answer is True:
            return ActionTakeOffer().run(dispatcher, tracker, domain)
        if answer is False:
            return decline_offer(dispatcher, tracker)
        if intent == "ask_matter":
            ents = {e.get("entity"): e.get("value") for e in (tracker.latest_message or {}).get("entities") or []}
            started = start_flow_on_mention(dispatcher, tracker, ents.get("matter") if "matter_alt" not in ents
                                            else None)
            if started is not None:
                return started
        aspect = "materials" if intent == "affirm" and offer == "materials" else INTENT_ASPECT.get(intent, "overview")
        try:
            catalogue = load_catalogue(strict=False)
        except Exception:  # noqa: BLE001 - a broken catalogue must not break the call
            log.exception("catalogue could not be loaded")
            dispatcher.utter_message(response="utter_catalogue_unavailable")
            return []
        matter, hits = (catalogue.get(matter_id), []) if matter_id in catalogue else resolve_matter(tracker, catalogue)
        before = matter_before(tracker)
        if matter is not None and before in catalogue and matter["id"] != before \
                and flow_specs.preferred_over(before, matter["id"]) \
                and not flow_specs.flow_trigger(tracker.latest_message.get("text") or ""):
            # "临时身份证…" then "没得身份证银行不给取钱": still the temporary card, unless words name the other
            matter = catalogue.get(before)
        options = [matter] if matter is not None else [catalogue.get(h.matter_id) for h in hits[:2]]
        if intent == "ask_matter" and options and all(is_problem(m) for m in options) \
                and not ASKS_HOW_TO_REPORT.search(tracker.latest_message.get("text") or ""):
            return start_intake()   # "俺们村停水三天了": a problem to report, taken as a 12345 report
        if matter is None:
            # clarify decides when two matters are too close to call; the words are the domain's
            close = bool(hits and clarify(hits)) or (len(hits) == 2 and hits[0].score == hits[1].score == 1.0)
            if close:
                buttons = [{"title": short_label(catalogue.get(h.matter_id)),
                            "payload": aspect_payload(h.matter_id, aspect)} for h in hits[:2]]
                dispatcher.utter_message(response="utter_ask_which_matter", buttons=buttons,
                                         **which_names(catalogue, hits))
                # "A or B?": the channels see the choice and its matters
                options = [{"title": b["title"], "matter": h.matter_id} for b, h in zip(buttons, hits)]
                dispatcher.utter_message(json_message={**flow_specs.ask_event("which_matter", tracker),
                                                       "options": options})
            else:
                dispatcher.utter_message(response="utter_ask_matter_name")
                dispatcher.utter_message(json_message=flow_specs.ask_event("flow", tracker))
            return [SlotSet("matter_offer", None)]
        if _channel(tracker) == "voice":
            dispatcher.utter_message(text=voice_answer(matter, aspect))
        else:
            answer = chat_answer(matter, aspect, catalogue)
            dispatcher.utter_message(text=answer["text"], buttons=answer["buttons"])
        if aspect != "materials" and matter["materials"]["items"] and _channel(tracker) == "voice":
            next_offer = "materials"
        elif matter.get("registrable") or _has_flow(matter["id"]):
            next_offer = "register"   # a self-service matter with a flow registers a request for help
        else:
            next_offer = None
        if next_offer == "register" and not matter.get("registrable"):
            # a self-service matter with a flow: the offer is to register a request for help
            flow = flow_specs.pick_flow("", matter["id"])
            dispatcher.utter_message(text=flow_specs.render(flow, flow_specs.common("help_ask")))
        if next_offer:  # the answer ends with an offer: a yes/no question for the channels
            dispatcher.utter_message(json_message=flow_specs.ask_event(f"offer_{next_offer}", tracker))
        return [SlotSet("matter", matter["id"]), SlotSet("matter_offer", next_offer)]


_OFFER_QUESTION = {"register": "需要我帮您登记吗", "materials": "要不要我一条一条说材料"}
_ASKS = re.compile(r"吗|啥|什么|多少|哪|怎么|咋|几|多久|要不要|能不能|可不可以|撒子|么子|[？?]")


def offer_answer(tracker: Tracker) -> bool | None:
    """A short answer to the offer the last reply ended with ("那我自己弄" to "需要我帮您登记吗？"),
    read in the context of that question; None when the caller says something else."""
    offer = tracker.get_slot("matter_offer")
    text = (tracker.latest_message or {}).get("text") or ""
    if offer != "register":
        return None
    # "那我自己在手机上弄就行，不用登记了" / "那先不登记，额回去问问村上能不能补交": a no, however
    # long, and whatever else is asked beside it (declines_help skips clauses that are questions)
    if answers.declines_help(text):
        return False
    if _ASKS.search(text):
        return None
    if len(re.findall(r"[\u4e00-\u9fff]", text)) > 12:
        return None
    return answers.yes_no(text, _OFFER_QUESTION[offer])


class ActionEmergencyCheck(Action):
    """Maybe an emergency, outside a form: the number first, then the conversation goes on with a
    question, never silence. A matter already on the table stays ("他爹他妈都在大连干活呢" after the
    answer on birth registration): its open offer is asked again. Else a matter named beside the injury
    ("大爷说他养老金该认证了 腿摔折了出不了门") is answered: the matter reader ranked it, and held it back
    only for the safety question (bot/nlu/matter.py DEFER_TO_SAFETY_LEXICAL), which is now asked.
    Else the caller is asked what they want done."""

    def name(self) -> str:
        return "action_emergency_check"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain):
        from bot.nlu.matter import ACCEPT, LEXICAL_MIN

        dispatcher.utter_message(response="utter_emergency_check")
        offer, current = tracker.get_slot("matter_offer"), tracker.get_slot("matter")
        try:
            catalogue = load_catalogue(strict=False)
            named, hits = resolve_matter(tracker, catalogue)
        except Exception:  # noqa: BLE001 - a broken catalogue must not break the call
            log.exception("catalogue could not be loaded")
            return []
        if current and offer and (named is None and not hits or named is not None and named["id"] == current):
            dispatcher.utter_message(response="utter_offer_again")
            dispatcher.utter_message(json_message=flow_specs.ask_event(f"offer_{offer}", tracker))
            return []
        ranking = (tracker.latest_message or {}).get("matter_ranking") or []
        top = ranking[0] if ranking and not current and named is None else {}
        chosen = top.get("matter_id") if top.get("score", 0) >= ACCEPT and top.get("lexical", 0) >= LEXICAL_MIN \
            else None
        return ActionAnswerMatter().run(dispatcher, tracker, domain, matter_id=chosen)


class ActionThank(Action):
    """Thanks; "好的，谢谢你" to the offer the last answer ended with is a yes to it (the thanks
    go with the yes), so the offer is taken up."""

    def name(self) -> str:
        return "action_thank"

    def run(self, dispatcher, tracker, domain):
        offer = tracker.get_slot("matter_offer")
        first = answers.clauses((tracker.latest_message or {}).get("text") or "")[:1]
        if offer in _OFFER_QUESTION and first and answers.yes_no(first[0], _OFFER_QUESTION[offer]) is True:
            return ActionTakeOffer().run(dispatcher, tracker, domain)
        dispatcher.utter_message(response="utter_thank")
        return []


class ActionTakeOffer(Action):
    """"要/好" outside a form takes up what the last answer offered: the materials one by
    one, or registration (the guided form starts at once)."""

    def name(self) -> str:
        return "action_take_offer"

    def run(self, dispatcher, tracker, domain):
        offer = tracker.get_slot("matter_offer")
        if offer == "human":   # a progress query found nothing: a person looks it up
            return [SlotSet("matter_offer", None)] + handoff_events(dispatcher, "progress_not_found")
        if offer == "materials":
            return ActionAnswerMatter().run(dispatcher, tracker, domain)
        matter_id = offered_matter(tracker)
        if offer == "register" and is_problem(flow_specs.catalogue().get(matter_id or "")):
            return start_intake()
        if offer == "register":   # "要我帮您登记吗？" was answered yes: not asked again in the form
            tracker.slots["matter"] = matter_id   # not a matter the yes itself was taken for ("系，帮我补")
            return [SlotSet("matter", matter_id)] + start_flow(dispatcher, tracker, flow_specs.pick_flow("", matter_id)) + [
                SlotSet("flow_register", "yes"), FollowupAction("flow_form")]
        dispatcher.utter_message(response="utter_anything_else")
        return []
