from rasa.shared.nlu.training_data.message import Message

from bot.nlu import learned
from bot.nlu.acts import DialogueActRules
from bot.nlu.emergency import EmergencyOverride


def test_held_out_splits_are_not_trained_on(monkeypatch):
    everything = learned.training_rows()
    monkeypatch.setattr(learned, "HOLD_OUT", frozenset({"heldout"}))
    kept = learned.training_rows()
    assert 0 < len(kept) < len(everything)


def test_an_act_the_rules_do_not_know_is_read_by_the_learned_reader():
    message = Message({"text": "你们真是好样的"})
    message.set("intent", {"name": "nlu_fallback", "confidence": 0.4})
    DialogueActRules().process([message])
    assert message.get("intent")["name"] == "praise"


def test_an_answer_inside_a_form_is_not_replaced():
    message = Message({"text": "你们真是好样的"})
    message.set("intent", {"name": "provide_info", "confidence": 0.7})
    DialogueActRules().process([message])
    assert message.get("intent")["name"] == "provide_info"


def test_a_matter_request_gets_no_act():
    assert learned.read("我想办个残疾证").act is None


def test_an_emergency_the_rules_miss_is_asked_about_with_its_number(monkeypatch):
    monkeypatch.setattr("safety.emergency.detect", lambda text: None)   # as if no rule knew it
    message = Message({"text": "我妈突然喘不过来气，嘴唇都紫了"})
    message.set("intent", {"name": "report_problem", "confidence": 0.8})
    EmergencyOverride().process([message])
    assert message.get("intent")["name"] == "emergency_check"
    assert {"entity": "emergency_number", "value": "120"}.items() <= next(
        e for e in message.get("entities") if e["entity"] == "emergency_number").items()
