"""Unit tests of the guided form's validation and questions (no Rasa server)."""
import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import flow_specs as specs
from bot.actions.forms import FORM_SLOTS, ValidateFlowForm, ask_text, required_slots_for, summary_text

ID = "11010519491231002X"


def tracker(slots=None, text="", intent=None, channel="web"):
    all_slots = {s: None for s in FORM_SLOTS}
    all_slots.update({"flow": "idcard_lost"})
    all_slots.update(slots or {})
    msg = {"text": text, "intent": {"name": intent} if intent else {}}
    events = [{"event": "user", "text": text, "metadata": {"channel": channel}}]
    return Tracker("unit", all_slots, msg, events, False, None, {"name": "flow_form"}, "action_listen")


def run(slot, text, slots=None, intent=None):
    form, d = ValidateFlowForm(), CollectingDispatcher()
    out = getattr(form, f"validate_{slot}")(text, d, tracker(slots, text, intent), {})
    return out, " ".join(m.get("text") or "" for m in d.messages)


def test_idcard_lost_asks_safety_first_then_travel():
    slots = required_slots_for(tracker())
    assert slots[:3] == ["flow_q1", "flow_q2", "flow_register"]
    texts, _ = ask_text("flow_q1", tracker())
    assert "偷" in texts[-1] and texts[-1].endswith("？")


def test_stolen_card_goes_to_110_and_stops():
    out, said = run("flow_q1", "是被偷的，跟钱包一起", intent="affirm")
    assert out["flow_done"] == "police" and "110" in said
    assert required_slots_for(tracker(out)) == []


def test_lost_card_explains_options_from_the_catalogue():
    out, _ = run("flow_q1", "没有，自己弄丢的", intent="deny")
    assert out["flow_q1"] == "no" and "flow_done" not in out
    texts, _ = ask_text("flow_q2", tracker(out))
    reissue = specs.catalogue().get("gongan.idcard_reissue")
    assert reissue["fee"]["text"].rstrip("。") in texts[0]
    assert texts[-1] == "最近要不要坐火车、坐飞机出门？"


def test_travel_soon_mentions_temporary_id_and_station_proof():
    _, said = run("flow_q2", "下个月要坐火车", slots={"flow_q1": "no"}, intent="affirm")
    temp = specs.catalogue().get("gongan.idcard_temporary")
    assert temp["fee"]["text"] in said and "车站" in said


def test_spoken_id_in_pieces_then_read_back():
    out, _ = run("id_number", "幺幺零幺零五")
    assert out == {"id_number": None, "id_partial": "110105"}
    texts, _ = ask_text("id_number", tracker(out))
    assert "还差12位" in texts[0]
    out2, _ = run("id_number", "一九四九一二三幺零零两叉", slots=out)
    assert out2["id_number"] == ID and out2["id_partial"] is None
    texts, _ = ask_text("id_confirm", tracker(out2, channel="voice"))
    assert texts[0] == "我念一遍：幺幺零，幺零五，幺九四九，幺二三幺，零零二叉。对吗？"


def test_wrong_check_digit_is_explained_and_counted():
    out, said = run("id_number", "110105194912310021")
    assert out["id_number"] is None and out["flow_tries"] == 1 and "校验" in said
    out2, _ = run("id_number", "110105194912310021", slots={"flow_tries": 1})
    assert out2["flow_offer_human"] == "id_number"
    assert required_slots_for(tracker(out2))[0] == "human_offer"


def test_correction_of_last_four_digits_at_read_back():
    out, _ = run("id_confirm", "不对，最后四位是洞洞两叉", slots={"id_number": "110105194912310021"}, intent="deny")
    assert out == {"id_number": ID, "id_confirm": None}


def test_lost_card_id_is_optional():
    out, _ = run("id_number", "不记得了")
    assert out["id_number"] == "unknown" and out["id_confirm"] == "skip"


def test_renewal_id_is_required():
    out, _ = run("id_number", "不记得了", slots={"flow": "idcard_renewal"})
    assert out["id_number"] is None


def test_phone_and_confirm_and_name_correction_mid_form():
    out, _ = run("phone", "幺三八 幺二三四 五六七八")
    assert out["phone"] == "13812345678"
    out, said = run("village", "名字是耳东陈", slots={"applicant_name": "程小明"})
    assert out["applicant_name"] == "陈小明" and out["village"] is None and "陈小明" in said


def test_summary_masks_personal_data():
    t = tracker({"applicant_name": "陈小明", "phone": "13812345678", "id_number": ID, "village": "桃花村",
                 "for_whom": "parent"})
    text = summary_text(t)
    assert "13812345678" not in text and ID not in text and "小明" not in text
    assert "5678" in text and "姓陈" in text and text.endswith("对吗？")


def test_for_whom_reminds_proxy_rule():
    out, said = run("for_whom", "给我妈办")
    assert out["for_whom"] == "parent" and "不能代办" in said


def test_xusui_age_asks_birth_month_instead_of_guessing():
    t = {"flow": "resident_pension_claim"}
    out, _ = run("flow_q1", "虚岁六十一", slots=t)
    assert out == {"flow_q1": None, "flow_pending": "birth:flow_q1"}
    texts, _ = ask_text("flow_q1", tracker({**t, **out}))
    assert "哪年哪月" in texts[0]
    out2, said = run("flow_q1", "一九七零年十二月", slots={**t, **out})
    assert out2["flow_q1"] is not None


def test_too_young_for_pension_is_told_the_catalogue_rule():
    out, said = run("flow_q1", "五十八周岁", slots={"flow": "resident_pension_claim"})
    assert out["flow_done"] == "ineligible" and "60" in said


def test_every_question_has_exactly_one_question_mark_last():
    for flow, spec in specs.flows().items():
        if specs.matter(flow) is None:
            continue
        for i, _ in enumerate(spec.get("questions", [])):
            texts, _ = ask_text(specs.QUESTION_SLOTS[i], tracker({"flow": flow}))
            joined = "".join(texts)
            assert joined.count("？") == 1 and joined.endswith("？"), (flow, joined)


def test_correction_right_after_a_failed_check_digit():
    out, said = run("id_number", "110105194912310021")
    assert out["flow_pending"] == "id_heard:110105194912310021"
    out2, _ = run("id_number", "最后四位是洞洞两叉", slots=out)
    assert out2["id_number"] == ID and out2["flow_pending"] is None


def test_naming_an_unchanged_field_at_the_summary_is_not_a_yes():
    slots = {"applicant_name": "陈小明", "phone": "13812345678", "village": "桃花村"}
    out, said = run("flow_confirm", "名字是耳东陈", slots=slots)
    assert out.get("flow_done") is None and out["flow_confirm"] is None


def test_yes_at_the_summary_confirms():
    out, _ = run("flow_confirm", "对", slots={"applicant_name": "陈小明"}, intent="affirm")
    assert out["flow_done"] == "confirmed"


def test_yes_no_understands_the_question_verb():
    from bot.actions.parse import yes_no
    assert yes_no("交够了") is True and yes_no("没交够") is False and yes_no("不够") is False
