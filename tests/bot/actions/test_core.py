"""Unit tests of the core actions with real rasa_sdk trackers (no server)."""
from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.core import (
    ActionDefaultAskAffirmation,
    ActionDefaultFallback,
    ActionHandoff,
    ActionOutOfScope,
    ActionRepeatLast,
    ActionSlowDown,
    last_bot_turn,
)


def make_tracker(events, slots=None, latest_message=None):
    return Tracker("u1", slots or {}, latest_message or {}, events, False, None, None, "action_listen")


def user(text):
    return {"event": "user", "text": text}


def bot(text):
    return {"event": "bot", "text": text}


CONVERSATION = [user("你好"), bot("您好！"), bot("您想办什么事？"), user("再说一遍")]


def test_last_bot_turn_returns_everything_said_since_previous_user_message():
    assert last_bot_turn(make_tracker(CONVERSATION)) == ["您好！", "您想办什么事？"]


def test_last_bot_turn_is_empty_at_start():
    assert last_bot_turn(make_tracker([user("再说一遍")])) == []


def test_repeat_says_the_last_answer_again():
    dispatcher = CollectingDispatcher()
    ActionRepeatLast().run(dispatcher, make_tracker(CONVERSATION), {})
    assert [m["text"] for m in dispatcher.messages] == ["您好！", "您想办什么事？"]


def test_slow_down_sets_slot_and_repeats():
    dispatcher = CollectingDispatcher()
    events = ActionSlowDown().run(dispatcher, make_tracker(CONVERSATION), {})
    assert {"event": "slot", "name": "speech_rate", "value": "slow", "timestamp": None} in events
    assert dispatcher.messages[0]["response"] == "utter_slow_down"
    assert [m.get("text") for m in dispatcher.messages[1:]] == ["您好！", "您想办什么事？"]


def test_handoff_emits_channel_event_and_slot():
    dispatcher = CollectingDispatcher()
    events = ActionHandoff().run(dispatcher, make_tracker([]), {})
    customs = [m["custom"] for m in dispatcher.messages if m.get("custom")]
    assert customs == [{"event": "handoff", "reason": "user_request"}]
    assert dispatcher.messages[0]["response"] == "utter_handoff"  # the words live in the domain
    assert events[0]["name"] == "handoff" and events[0]["value"] is True


def test_out_of_scope_hands_off_on_second_time():
    dispatcher = CollectingDispatcher()
    first = ActionOutOfScope().run(dispatcher, make_tracker([], {"out_of_scope_count": 0}), {})
    assert first[0]["value"] == 1 and not any(m.get("custom") for m in dispatcher.messages)
    dispatcher = CollectingDispatcher()
    ActionOutOfScope().run(dispatcher, make_tracker([], {"out_of_scope_count": 1}), {})
    assert {"event": "handoff", "reason": "out_of_scope"} in [m.get("custom") for m in dispatcher.messages]


def test_ask_affirmation_names_the_best_guess_in_chinese():
    dispatcher = CollectingDispatcher()
    latest = {"intent_ranking": [{"name": "nlu_fallback", "confidence": 0.5},
                                 {"name": "request_human", "confidence": 0.4}]}
    ActionDefaultAskAffirmation().run(dispatcher, make_tracker([], latest_message=latest), {})
    message = dispatcher.messages[0]
    assert message["text"] == "您是想问转人工服务吗？"
    assert [b["payload"] for b in message["buttons"]] == ["/request_human", "/out_of_scope"]
    assert dispatcher.messages[-1]["custom"]["key"] == "did_you_mean"   # the channels see a yes/no question


def test_ask_affirmation_without_guess_asks_to_rephrase():
    dispatcher = CollectingDispatcher()
    ActionDefaultAskAffirmation().run(dispatcher, make_tracker([], latest_message={"intent_ranking": []}), {})
    assert dispatcher.messages[0]["response"] == "utter_ask_rephrase"


def test_second_fallback_stage_hands_off():
    dispatcher = CollectingDispatcher()
    events = ActionDefaultFallback().run(dispatcher, make_tracker([]), {})
    assert {"event": "handoff", "reason": "not_understood"} in [m.get("custom") for m in dispatcher.messages]
    assert events[0]["event"] == "rewind"
    assert any(e.get("name") == "handoff" for e in events[1:])


def test_decline_clears_a_pending_offer():
    from bot.actions.core import ActionDecline

    dispatcher = CollectingDispatcher()
    events = ActionDecline().run(dispatcher, make_tracker([], {"matter_offer": "materials"}), {})
    assert dispatcher.messages[0]["response"] == "utter_anything_else_or_bye"  # "您还有什么要办的？…"
    assert events == [{"event": "slot", "name": "matter_offer", "value": None, "timestamp": None}]


def test_declining_registration_says_where_to_go_and_ends_the_matter():
    from bot.actions.core import ActionDecline

    dispatcher = CollectingDispatcher()
    slots = {"matter_offer": "register", "matter": "renshe.pension_qualification"}
    events = ActionDecline().run(dispatcher, make_tracker([], slots), {})
    assert dispatcher.messages[0]["response"] == "utter_offer_declined" and dispatcher.messages[0]["where"]
    assert {"event": "flow_end", "outcome": "declined"} in [m.get("custom") for m in dispatcher.messages]
    assert events == [{"event": "slot", "name": "matter_offer", "value": None, "timestamp": None}]


def test_no_after_the_clarifying_question_goes_to_a_person():
    from bot.actions.core import ActionDecline

    dispatcher = CollectingDispatcher()
    # As Rasa leaves it: the loop reverts the "不是" and replays it as a clarification.
    events = [user("阿巴阿巴"), bot("您是想问转人工服务吗？"), user("不是"), {"event": "rewind"},
              {"event": "action", "name": "action_listen"}, user("不是")]
    ActionDecline().run(dispatcher, make_tracker(events), {})
    assert {"event": "handoff", "reason": "not_understood"} in [m.get("custom") for m in dispatcher.messages]
