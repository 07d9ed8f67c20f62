"""Actions of the core conversation: hand-off, repeat, slow speech, fallback."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import flow_specs
from bot.actions.intent_text import describe

# The fallback's questions (action_default_ask_affirmation, utter_ask_rephrase): a "不是" right after one
# of them is the second stage.
CLARIFY_RESPONSES = ("utter_did_you_mean", "utter_ask_rephrase")
# "您还有什么要办的？": a no to it ("没有了") ends the conversation, as a goodbye would.
ANYTHING_ELSE_RESPONSES = ("utter_anything_else", "utter_anything_else_or_bye")

def handoff_events(dispatcher: CollectingDispatcher, reason: str) -> list[dict[str, Any]]:
    """Tell the channel to hand the user to a person; every hand-off goes through here."""
    dispatcher.utter_message(response="utter_handoff")
    dispatcher.utter_message(json_message={"event": "handoff", "reason": reason})
    return [SlotSet("handoff", True)]


def last_bot_turn(tracker: Tracker) -> list[str]:
    """Texts the bot said between the previous user message and the latest one."""
    events = list(tracker.events)
    user_seen = 0
    texts: list[str] = []
    for event in reversed(events):
        if event.get("event") == "user":
            user_seen += 1
            if user_seen == 2:
                break
            continue
        if user_seen == 1 and event.get("event") == "bot" and event.get("text"):
            texts.append(event["text"])
    return list(reversed(texts))


def last_bot_response(tracker: Tracker) -> str:
    """The domain response the bot said last before the latest user message (across fallback
    replays): Rasa keeps its name in the bot event's metadata (`utter_action`)."""
    seen_user = False
    for event in reversed(list(tracker.events)):
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "bot" and event.get("text"):
            return (event.get("metadata") or {}).get("utter_action") or ""
    return ""


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    def run(self, dispatcher, tracker, domain):
        return handoff_events(dispatcher, "user_request")


class ActionRepeatLast(Action):
    def name(self) -> str:
        return "action_repeat_last"

    def run(self, dispatcher, tracker, domain):
        texts = last_bot_turn(tracker)
        if not texts:
            dispatcher.utter_message(response="utter_nothing_said_yet")
        for text in texts:
            dispatcher.utter_message(text=text)
        return []


class ActionSlowDown(Action):
    def name(self) -> str:
        return "action_slow_down"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(response="utter_slow_down")
        for text in last_bot_turn(tracker):
            dispatcher.utter_message(text=text)
        return [SlotSet("speech_rate", "slow")]


class ActionOutOfScope(Action):
    """First time: say what we can do; second time in a row: hand off to a person."""

    def name(self) -> str:
        return "action_out_of_scope"

    def run(self, dispatcher, tracker, domain):
        count = int(tracker.get_slot("out_of_scope_count") or 0) + 1
        if count >= 2:
            return handoff_events(dispatcher, "out_of_scope") + [SlotSet("out_of_scope_count", 0)]
        dispatcher.utter_message(response="utter_out_of_scope_help")
        return [SlotSet("out_of_scope_count", count)]


class ActionDecline(Action):
    """"不用/不要" with nothing pending: drop any offer and ask what else, never a fallback."""

    def name(self) -> str:
        return "action_decline"

    def run(self, dispatcher, tracker, domain):
        # "不是" right after the fallback's "您是想问……吗？" / "换个说法" is the second stage:
        # still not understood -> a person (Rasa's loop treats a deny as a clarification).
        asked = last_bot_response(tracker)
        if asked in CLARIFY_RESPONSES:
            return handoff_events(dispatcher, "not_understood")
        if tracker.get_slot("matter_offer") == "register":
            return decline_offer(dispatcher, tracker)
        if tracker.get_slot("matter_offer") == "human":   # nothing found, no person wanted: told what to do
            dispatcher.utter_message(json_message={"event": "flow_end", "outcome": "declined"})
            dispatcher.utter_message(response="utter_anything_else")
            return [SlotSet("matter_offer", None)]
        closing = "utter_goodbye" if asked in ANYTHING_ELSE_RESPONSES else "utter_anything_else_or_bye"
        dispatcher.utter_message(response=closing)
        return [SlotSet("matter_offer", None)] if "matter_offer" in tracker.slots else []


def offered_matter(tracker: Tracker) -> str | None:
    """The matter the last answer was about: the `matter` slot as it stood before the caller's
    latest words (their own matter entity, "那我自己交吧" -> 公积金, is not what was offered)."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "slot" and event.get("name") == "matter" and event.get("value"):
            return event["value"]
    return tracker.get_slot("matter")


def decline_offer(dispatcher, tracker, closing: str = "utter_anything_else") -> list:
    """The caller will do it herself: what to do next, plainly, and the end of this matter."""
    matter = flow_specs.catalogue().get(offered_matter(tracker) or "")
    if tracker.get_slot("matter_offer") == "register" and matter is not None:
        dispatcher.utter_message(response="utter_offer_declined", where=flow_specs.fact(matter, "where"))
        dispatcher.utter_message(json_message={"event": "flow_end", "outcome": "declined"})
    dispatcher.utter_message(response=closing)
    return [SlotSet("matter_offer", None)]


def puts_off_offer(tracker) -> bool:
    """The offer to register is pending and the caller's words turn it down or put it off
    ("那中，俺等到八十再说", "不用，我就问问，礼拜六自己去"), whatever intent the words got."""
    from textnorm import answers

    text = (tracker.latest_message or {}).get("text") or ""
    return tracker.get_slot("matter_offer") == "register" and answers.declines_help(text)


class ActionGoodbye(Action):
    """Goodbye; said to a pending offer to register ("那就先不弄"), the offer is declined first:
    the caller hears where to do it herself."""

    def name(self) -> str:
        return "action_goodbye"

    def run(self, dispatcher, tracker, domain):
        if tracker.get_slot("matter_offer") == "register":
            return decline_offer(dispatcher, tracker, closing="utter_goodbye")
        dispatcher.utter_message(response="utter_goodbye")
        return []


class ActionFlowStopped(Action):
    """"不用登记了，你告诉我在哪弄就行" with no form open: to a pending offer to register it is a
    decline (where to do it herself); else nothing is going on, and nothing is done."""

    def name(self) -> str:
        return "action_flow_stopped"

    def run(self, dispatcher, tracker, domain):
        if tracker.get_slot("matter_offer") == "register":
            return decline_offer(dispatcher, tracker)
        dispatcher.utter_message(response="utter_flow_stopped")
        return []


class ActionFlowWhat(Action):
    """An answer with no question open ("我就问问"): ask what the caller wants done, unless the
    words turn down the offer to register that the last answer ended with."""

    def name(self) -> str:
        return "action_flow_what"

    def run(self, dispatcher, tracker, domain):
        if puts_off_offer(tracker):
            return decline_offer(dispatcher, tracker)
        dispatcher.utter_message(response="utter_flow_what")
        return []


class ActionDefaultAskAffirmation(Action):
    """First stage of the two-stage fallback: "您是想问……吗？" with yes/no buttons."""

    def name(self) -> str:
        return "action_default_ask_affirmation"

    def run(self, dispatcher, tracker, domain):
        ranking = tracker.latest_message.get("intent_ranking", [])
        guess = next((r["name"] for r in ranking if r.get("name") != "nlu_fallback"), None)
        description = describe_intent(guess, tracker, domain)
        if description is None:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        dispatcher.utter_message(response="utter_did_you_mean", description=description, intent=guess)
        dispatcher.utter_message(json_message=flow_specs.ask_event("did_you_mean", tracker))
        return []


def describe_intent(intent: str | None, tracker: Tracker, domain: dict) -> str | None:
    if not intent or intent in ("affirm", "deny", "out_of_scope"):
        return None
    return describe(intent, tracker, domain)


class ActionDefaultFallback(Action):
    """Second stage: still not understood -> a person takes over."""

    def name(self) -> str:
        return "action_default_fallback"

    def run(self, dispatcher, tracker, domain):
        # Revert the unclear message (as Rasa's default does) so it cannot trigger the
        # fallback again and again; the hand-off flag is set after the revert.
        events = handoff_events(dispatcher, "not_understood")
        return [UserUtteranceReverted()] + events
