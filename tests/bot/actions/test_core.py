"""Unit tests of the core actions with real rasa_sdk trackers (no server)."""
from __future__ import annotations

from pathlib import Path

import yaml
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


# The domain as Rasa sends it with each call (the responses are what the actions read).
DOMAIN = {"responses": {name: variants
                        for path in sorted((Path(__file__).parents[3] / "bot" / "domain").glob("*.yml"))
                        for name, variants in (yaml.safe_load(path.read_text(encoding="utf-8")).get("responses")
                                               or {}).items()}}


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
    ActionDefaultAskAffirmation().run(dispatcher, make_tracker([], latest_message=latest), DOMAIN)
    message = dispatcher.messages[0]
    # Rasa fills utter_did_you_mean ("您是想问{description}吗？", buttons "/{intent}") with these values
    assert (message["response"], message["description"], message["intent"]) == \
        ("utter_did_you_mean", "转人工服务", "request_human")
    assert dispatcher.messages[-1]["custom"]["key"] == "did_you_mean"   # the channels see a yes/no question


def test_ask_affirmation_describes_a_catalogue_intent_with_its_matter():
    dispatcher = CollectingDispatcher()
    latest = {"intent_ranking": [{"name": "ask_fee", "confidence": 0.4}],
              "entities": [{"entity": "matter", "value": "gongan.idcard_reissue"}]}
    ActionDefaultAskAffirmation().run(dispatcher, make_tracker([], latest_message=latest), DOMAIN)
    assert dispatcher.messages[0]["description"] == "补办身份证要多少钱"


def test_ask_affirmation_without_guess_asks_to_rephrase():
    dispatcher = CollectingDispatcher()
    ActionDefaultAskAffirmation().run(dispatcher, make_tracker([], latest_message={"intent_ranking": []}), DOMAIN)
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
    asked = {**bot("您是想问转人工服务吗？"), "metadata": {"utter_action": "utter_did_you_mean"}}
    events = [user("阿巴阿巴"), asked, user("不是"), {"event": "rewind"},
              {"event": "action", "name": "action_listen"}, user("不是")]
    ActionDecline().run(dispatcher, make_tracker(events), {})
    assert {"event": "handoff", "reason": "not_understood"} in [m.get("custom") for m in dispatcher.messages]


def test_no_after_another_question_is_no_clarification():
    from bot.actions.core import ActionDecline

    dispatcher = CollectingDispatcher()
    asked = {**bot("好的。您还有什么要办的？"), "metadata": {"utter_action": "utter_anything_else"}}
    ActionDecline().run(dispatcher, make_tracker([user("谢谢"), asked, user("不是")]), DOMAIN)
    assert not [m for m in dispatcher.messages if m.get("custom")]


def test_no_to_anything_else_ends_the_conversation():
    from bot.actions.core import ActionDecline

    dispatcher = CollectingDispatcher()
    asked = {**bot("好的。您还有什么要办的？没有的话，说“再见”就行。"), "metadata": {"utter_action": "utter_anything_else_or_bye"}}
    ActionDecline().run(dispatcher, make_tracker([user("不用了"), asked, user("没有了")]), DOMAIN)
    assert [m.get("response") for m in dispatcher.messages] == ["utter_goodbye"]


def test_greeting_and_anything_else_mark_the_question_for_the_channels():
    for name, key in (("utter_greet", "matter"), ("utter_anything_else", "anything_else")):
        assert DOMAIN["responses"][name][0]["custom"] == {"event": "ask", "key": key, "expect": "free"}
