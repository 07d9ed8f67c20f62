import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.nlu import learned
from bot.nlu.emergency import EmergencyOverride


def test_held_out_splits_are_not_trained_on(monkeypatch):
    shipped = learned.training_rows()
    monkeypatch.setattr(learned, "HOLD_OUT", frozenset())
    everything = learned.training_rows()
    monkeypatch.setattr(learned, "HOLD_OUT", frozenset({"heldout", "heldout5"}))
    fewer = learned.training_rows()
    assert 0 < len(fewer) < len(shipped) < len(everything)   # the product never reads the newest round


def test_a_matter_request_is_neither_an_act_nor_an_emergency():
    reading = learned.read("我想办个残疾证")
    assert reading.act is None and reading.number is None


def _override(monkeypatch, text: str) -> Message:
    monkeypatch.setattr("safety.emergency.detect", lambda text: None)   # as if no rule knew it
    message = Message({"text": text})
    message.set("intent", {"name": "report_problem", "confidence": 0.8})
    EmergencyOverride().process([message])
    return message


def test_an_emergency_the_rules_miss_is_asked_about_with_its_number(monkeypatch):
    message = _override(monkeypatch, "我妈突然喘不过来气，嘴唇都紫了")
    assert message.get("intent")["name"] == "emergency_check"
    assert [e["value"] for e in message.get("entities") if e["entity"] == "emergency_number"] == ["120"]


@pytest.mark.parametrize("answer", ["我老伴", "我爸", "拿着了", "我老汉儿，我爸"])
def test_an_answer_inside_a_form_is_not_asked_about(monkeypatch, answer):
    assert _override(monkeypatch, answer).get("intent")["name"] == "report_problem"


def test_a_past_illness_told_for_a_request_is_asked_about_not_asserted():
    message = Message({"text": "我家老头子中风了走不动路，养老金认证咋弄"})
    message.set("intent", {"name": "ask_matter", "confidence": 0.8})
    message.set("entities", [{"entity": "matter", "value": "renshe.pension_qualification"}])
    EmergencyOverride().process([message])
    assert message.get("intent")["name"] == "emergency_check"
    assert {e["entity"]: e["value"] for e in message.get("entities")}.get("matter") == "renshe.pension_qualification"


@pytest.mark.parametrize("text", ["我爸喘不上气了", "俺妈把一瓶安眠药都吃了", "屋里好大一股煤气味"])
def test_emergencies_the_rules_know_stay_emergencies(text):
    message = Message({"text": text})
    message.set("intent", {"name": "nlu_fallback", "confidence": 0.3})
    EmergencyOverride().process([message])
    assert message.get("intent")["name"] in ("emergency_medical", "emergency_fire")


@pytest.mark.parametrize("text,act", [("麻烦你说得慢一些", "slow_down"), ("你能不能换个真人来接", "request_human")])
def test_an_act_in_the_callers_own_words_is_read(text, act):
    from bot.nlu.acts import learned_act

    assert learned_act(text)[0] == act


@pytest.mark.parametrize("answer", ["黄有福", "谢凤珍", "他叫张德贵，弓长张", "幺三九零八七六"])
def test_an_answer_a_form_waits_for_is_no_act(answer):
    from bot.nlu.acts import learned_act

    assert learned_act(answer) is None


def test_a_reading_is_kept_per_model_and_text_and_the_cache_is_bounded():
    from bot.nlu.learned import READ_CACHE, _read

    m = learned.model()
    text = "我妈突然喘不过来气，嘴唇都紫了"
    first = learned.read(text)
    assert learned.read(text) is first                         # the acts and the safety gate share it
    assert _read.__wrapped__(m, text) == first                 # what a fresh computation reads
    import copy

    other = copy.deepcopy(m)                                   # another model (the bench trains its own)
    assert _read(other, text) == first and _read(other, text) is not first
    for i in range(READ_CACHE + 10):
        learned.read(f"第{i}句话")
    assert _read.cache_info().currsize <= READ_CACHE


def test_reading_column_major_coefficients_gives_the_same_probabilities():
    import numpy as np

    vec, clf = learned.model()
    assert clf.coef_.flags.f_contiguous
    x = vec.transform(["俺家灶火间着火了火越烧越大"])
    c_order = x @ np.ascontiguousarray(clf.coef_).T
    assert np.array_equal(clf.decision_function(x), (c_order + clf.intercept_))
