import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.emergency import EmergencyOverride, emergency_intent


@pytest.mark.parametrize("text,intent", [
    ("我家着火了", "emergency_fire"),
    ("我老伴晕倒了叫不醒", "emergency_medical"),
    ("有人拿刀砍人", "emergency_police"),
    ("村口出车祸了", "emergency_traffic"),
])
def test_emergency_wording_maps_to_intent(text, intent):
    assert emergency_intent(text) == intent


@pytest.mark.parametrize("text", ["我想补办身份证", "火车票怎么买", "没着火，就是问问消防检查", "高龄补贴怎么领"])
def test_ordinary_requests_are_untouched(text):
    assert emergency_intent(text) is None


def test_override_replaces_model_intent_and_ranking():
    message = Message({"text": "我老伴晕倒了叫不醒"})
    message.set("intent", {"name": "provide_info", "confidence": 0.9})
    message.set("intent_ranking", [{"name": "provide_info", "confidence": 0.9},
                                   {"name": "emergency_medical", "confidence": 0.05}])
    EmergencyOverride().process([message])
    assert message.get("intent") == {"name": "emergency_medical", "confidence": 1.0}
    assert [r["name"] for r in message.get("intent_ranking")] == ["emergency_medical", "provide_info"]


def test_payload_messages_are_not_rewritten():
    message = Message({"text": "/call_start"})
    message.set("intent", {"name": "call_start", "confidence": 1.0})
    EmergencyOverride().process([message])
    assert message.get("intent")["name"] == "call_start"


def test_a_supposed_emergency_is_not_asked_about():
    # The rules hear 落水 and drop it as a supposition: no "如果现在…请马上打119" either.
    message = Message({"text": "假如我哪天看到有人落水，我不会游泳该咋办"})
    message.set("intent", {"name": "ask_matter", "confidence": 0.4})
    EmergencyOverride().process([message])
    assert message.get("intent")["name"] == "ask_matter"   # left as the model read it


def _asserted_with_matter(monkeypatch, text, matter_id):
    monkeypatch.setattr("bot.nlu.learned.read", lambda text: None)   # the rules alone assert it
    message = Message({"text": text})
    message.set("intent", {"name": "ask_matter", "confidence": 0.9})
    message.set("entities", [{"entity": "matter", "value": matter_id, "start": 0, "end": len(text)}])
    EmergencyOverride().process([message])
    return message.get("intent")["name"], [e["value"] for e in message.get("entities") if e["entity"] == "matter"]


def test_an_asserted_emergency_keeps_the_matter_that_reports_it(monkeypatch):
    assert _asserted_with_matter(monkeypatch, "山上着火了，快派人来", "linye.forest_fire_report") == (
        "emergency_fire", ["linye.forest_fire_report"])


def test_an_asserted_emergency_drops_an_ordinary_matter(monkeypatch):
    assert _asserted_with_matter(monkeypatch, "山上着火了，快派人来", "gongan.idcard_reissue") == ("emergency_fire", [])


@pytest.mark.parametrize("text", [
    "我叫陈火生，火车的火，生日的生",                          # a name spelled out
    "冰箱有股焦味，我已经把插头拔了，现在没事了",              # over, nobody hurt
])
def test_a_spelled_name_or_a_danger_that_is_over_is_not_asked_about(monkeypatch, text):
    from bot.nlu.learned import Reading

    # Even a reader sure of an emergency does not make the bot ask.
    monkeypatch.setattr("bot.nlu.learned.read", lambda text: Reading("E119", 0.99))
    message = Message({"text": text})
    message.set("intent", {"name": "ask_matter", "confidence": 0.4})
    EmergencyOverride().process([message])
    assert message.get("intent")["name"] == "ask_matter"
