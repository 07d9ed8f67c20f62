from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.catalogue import ActionAnswerMatter, ActionEmergencyCheck
from bot.actions.intent_text import describe


def tracker(text, intent, entities=(), slots=None, channel=None):
    message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": list(entities)}
    if channel:
        message["metadata"] = {"channel": channel}
    return Tracker("u1", slots or {}, message, [], False, None, {}, "action_listen")


def run(t):
    d = CollectingDispatcher()
    events = ActionAnswerMatter().run(d, t, {})
    return d.messages, {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def test_entity_id_answers_in_chat_with_buttons():
    msgs, slots = run(tracker("补办身份证要带什么", "ask_materials",
                              [{"entity": "matter", "value": "gongan.idcard_reissue"}]))
    assert "所需材料" in msgs[0]["text"] and msgs[0]["buttons"]
    assert slots["matter"] == "gongan.idcard_reissue"


def test_voice_channel_gets_spoken_answer_and_offer():
    msgs, slots = run(tracker("补办身份证要多少钱", "ask_fee", channel="voice"))
    assert "40元" in msgs[0]["text"] and not msgs[0]["buttons"]
    assert msgs[0]["text"].endswith("要不要我一条一条说材料？")
    assert slots["matter_offer"] == "materials"


def test_yes_to_offer_reads_materials_of_slot_matter():
    msgs, slots = run(tracker("要", "affirm", slots={"matter": "gongan.idcard_reissue", "matter_offer": "materials"},
                              channel="voice"))
    assert msgs[0]["text"].startswith("要带")


def test_follow_up_without_matter_uses_the_slot():
    msgs, _ = run(tracker("要多少钱", "ask_fee", slots={"matter": "gongan.idcard_temporary"}, channel="voice"))
    assert msgs[0]["text"].startswith("要交10元") or "10元" in msgs[0]["text"]


def test_unknown_entity_text_is_searched():
    msgs, slots = run(tracker("身份正掉了咋办", "ask_matter", [{"entity": "matter", "value": "身份正掉了"}]))
    assert slots["matter"] == "gongan.idcard_reissue"


def test_nothing_found_asks_which_matter():
    msgs, slots = run(tracker("嗯那个", "ask_matter"))
    assert msgs[0]["response"] == "utter_ask_matter_name" and "matter" not in slots
    assert msgs[-1]["custom"]["key"] == "matter"


def test_two_matters_too_close_to_call_ask_which_with_its_ask_payload():
    msgs, _ = run(tracker("户口的事", "ask_matter", [{"entity": "matter", "value": "gongan.hukou_migration"},
                                                  {"entity": "matter_alt", "value": "gongan.hukou_correction"}]))
    ask = msgs[-1]["custom"]
    assert msgs[0]["response"] == "utter_ask_which_matter" and msgs[0]["a"] != msgs[0]["b"]
    assert (ask["event"], ask["key"], ask["expect"]) == ("ask", "which_matter", "choice")
    assert [o["matter"] for o in ask["options"]] == ["gongan.hukou_migration", "gongan.hukou_correction"]


def test_describe_for_fallback():
    t = tracker("补身份证", "ask_materials", [{"entity": "matter", "value": "gongan.idcard_reissue"}])
    from tests.bot.actions.test_core import DOMAIN

    assert describe("ask_materials", t, DOMAIN) == "补办身份证要带什么材料"
    assert describe("ask_fee", tracker("x", "ask_fee"), DOMAIN) == "办事要多少钱"
    assert describe("unknown_intent", t, DOMAIN) is None


def test_doing_it_oneself_in_a_long_sentence_declines_the_offer_with_the_next_step():
    msgs, slots = run(tracker("那我自己在手机上弄就行，不用登记了", "ask_matter",
                              slots={"matter": "renshe.pension_qualification", "matter_offer": "register"}))
    assert {"event": "flow_end", "outcome": "declined"} in [m.get("custom") for m in msgs]
    assert slots["matter_offer"] is None


def test_wanting_it_done_right_after_an_answer_starts_that_matters_flow():
    msgs, slots = run(tracker("阿拉想先办脱", "ask_matter", slots={"matter": "renshe.resident_pension_claim"}))
    assert slots["flow"] == "resident_pension_claim"


def run_check(t):
    d = CollectingDispatcher()
    events = ActionEmergencyCheck().run(d, t, {})
    return d.messages, {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def test_after_the_emergency_check_the_open_offer_is_asked_again():
    msgs, _ = run_check(tracker("他爹他妈都在大连干活呢，让我先问问", "emergency_check", channel="voice",
                                slots={"matter": "gongan.birth_registration", "matter_offer": "materials"}))
    assert msgs[0]["response"] == "utter_emergency_check"
    assert msgs[1]["response"] == "utter_offer_again"
    assert msgs[-1]["custom"]["event"] == "ask"


def test_after_the_emergency_check_a_matter_named_beside_the_injury_is_answered():
    t = tracker("大爷说他养老金该认证了 腿摔折了出不了门 问咋办", "emergency_check", channel="voice")
    t.latest_message["matter_ranking"] = [{"matter_id": "renshe.pension_qualification", "score": 1.49, "lexical": 0.46}]
    msgs, slots = run_check(t)
    assert msgs[0]["response"] == "utter_emergency_check"
    assert slots["matter"] == "renshe.pension_qualification"
    assert msgs[-1]["custom"]["event"] == "ask"


def test_after_the_emergency_check_with_no_matter_the_caller_is_asked_what_to_do():
    t = tracker("我爸摔倒了起不来了", "emergency_check", channel="voice")
    t.latest_message["matter_ranking"] = [{"matter_id": "minzheng.elderly_care_visit", "score": 0.77, "lexical": 0.0}]
    msgs, slots = run_check(t)
    assert msgs[0]["response"] == "utter_emergency_check"
    assert "matter" not in slots and msgs[-2]["response"] == "utter_ask_matter_name" and msgs[-1]["custom"]["key"] == "matter"


def tracker_after(matter_before, text, intent="ask_matter", entities=()):
    """A message after an answer about matter_before (the slot as it was before this message)."""
    message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": list(entities)}
    events = [{"event": "slot", "name": "matter", "value": matter_before}, {"event": "user", "text": text}]
    return Tracker("u1", {"matter": matter_before}, message, events, False, None, {}, "action_listen")


def test_the_matter_talked_about_stays_when_its_flow_prefers_over_the_one_ranked_now():
    msgs, slots = run(tracker_after("gongan.idcard_temporary", "我银行里要取钱，没得身份证不给取"))
    assert slots["matter"] == "gongan.idcard_temporary"


def test_a_request_told_as_made_before_starts_no_flow_on_mention():
    msgs, slots = run(tracker("我上回打电话补的身份证，已经拿到了", "ask_matter"))
    assert "flow" not in slots
