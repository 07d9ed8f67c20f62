"""Unit tests of the guided form's validation and questions (no Rasa server)."""
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import flow_specs as specs
from bot.actions.forms import (FORM_SLOTS, ValidateFlowForm, ask_payload, ask_text, command_of, required_slots_for,
                               summary_texts)

ID = "11010519491231002X"


def tracker(slots=None, text="", intent=None, channel="web"):
    all_slots = {s: None for s in FORM_SLOTS}
    all_slots.update({"flow": "idcard_lost"})
    all_slots.update(slots or {})
    msg = {"text": text, "intent": {"name": intent} if intent else {}}
    events = [{"event": "user", "text": text, "metadata": {"channel": channel}}]
    return Tracker("unit", all_slots, msg, events, False, None, {"name": "flow_form"}, "action_listen")


RESPONSES = {k: v for path in sorted(Path(specs.__file__).parents[1].joinpath("domain").glob("*.yml"))
             for k, v in (yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {}).items()}
DOMAIN = {"responses": RESPONSES}


def said(message: dict) -> str:
    """What the caller hears: the text, or the domain response filled with its values."""
    if message.get("response"):
        return RESPONSES[message["response"]][0]["text"].format(**{k: v for k, v in message.items()})
    return message.get("text") or ""


def run(slot, text, slots=None, intent=None):
    form, d = ValidateFlowForm(), CollectingDispatcher()
    out = getattr(form, f"validate_{slot}")(text, d, tracker(slots, text, intent), DOMAIN)
    return out, " ".join(said(m) for m in d.messages)


def test_idcard_lost_asks_safety_first_then_travel():
    slots = required_slots_for(tracker())
    assert slots[:3] == ["flow_q1", "flow_q2", "flow_register"]
    texts, _ = ask_text("flow_q1", tracker(), DOMAIN)
    assert "偷" in texts[-1] and texts[-1].endswith("？")


def test_stolen_card_advises_110_and_the_reissue_goes_on():
    out, said = run("flow_q1", "是被偷的，跟钱包一起", intent="affirm")
    assert out["flow_q1"] == "stolen" and "flow_done" not in out and "110" in said
    assert required_slots_for(tracker(out)) != []


def test_lost_card_explains_options_from_the_catalogue():
    out, _ = run("flow_q1", "没有，自己弄丢的", intent="deny")
    assert out["flow_q1"] == "lost" and "flow_done" not in out
    texts, _ = ask_text("flow_q2", tracker(out), DOMAIN)
    reissue = specs.catalogue().get("gongan.idcard_reissue")
    assert reissue["fee"]["text"].rstrip("。") in texts[0]
    assert texts[-1] == "最近要不要坐火车、坐飞机出门？"


def test_travel_soon_mentions_temporary_id_and_station_proof():
    _, said = run("flow_q2", "下个月要坐火车", slots={"flow_q1": "no"}, intent="affirm")
    temp = specs.catalogue().get("gongan.idcard_temporary")
    assert temp["fee"]["text"] in said and "车站" in said


def test_spoken_id_in_pieces_then_read_back():
    out, _ = run("id_number", "幺幺零幺零五")
    assert out["id_number"] is None and out["id_partial"] == "110105"
    texts, _ = ask_text("id_number", tracker(out), DOMAIN)
    assert "还差12位" in texts[0]
    out2, _ = run("id_number", "一九四九一二三幺零零两叉", slots=out)
    assert out2["id_number"] == ID and out2["id_partial"] is None
    texts, _ = ask_text("id_confirm", tracker(out2, channel="voice"), DOMAIN)
    assert texts[0] == "我念一遍：幺幺零，幺零五，幺九四九，幺二三幺，零零二叉。对吗？"


def test_wrong_check_digit_is_explained_and_counted():
    out, said = run("id_number", "110105194912310021")
    assert out["id_number"] is None and out["flow_tries"] == 1 and "校验" in said
    out2, _ = run("id_number", "110105194912310021", slots={"flow_tries": 1})
    assert "flow_offer_human" not in out2  # a person is offered after the third miss, not the second
    out2, _ = run("id_number", "110105194912310021", slots={"flow_tries": 2})
    assert out2["flow_offer_human"] == "id_number"
    assert required_slots_for(tracker(out2))[0] == "human_offer"


def test_correction_of_last_four_digits_at_read_back():
    out, _ = run("id_confirm", "不对，最后四位是洞洞两叉", slots={"id_number": "110105194912310021"}, intent="deny")
    assert out == {"id_number": ID, "id_confirm": None}


def test_lost_card_id_is_optional():
    out, _ = run("id_number", "不记得了")
    assert out["id_number"] == "unknown" and out["id_confirm"] == "skip"


def test_part_of_an_optional_id_and_the_rest_not_remembered_is_no_number():
    out, _ = run("id_number", "号码我只晓得前头是五幺零七二二 后头记不到了", slots={"flow": "death_deregistration"})
    assert out["id_number"] == "unknown" and out["id_confirm"] == "skip"


def test_renewal_id_not_remembered_has_a_way_forward():
    out, said = run("id_number", "不记得了", slots={"flow": "idcard_renewal"})
    assert out["id_number"] == "unknown" and "户口本" in said


def test_phone_and_confirm_and_name_correction_mid_form():
    out, _ = run("phone", "幺三八 幺二三四 五六七八")
    assert out["phone"] == "13812345678"
    out, said = run("village", "名字是耳东陈", slots={"applicant_name": "程小明"})
    assert out["applicant_name"] == "陈小明" and out["village"] is None and "陈小明" in said


def test_summary_masks_personal_data():
    t = tracker({"applicant_name": "陈小明", "phone": "13812345678", "id_number": ID, "village": "桃花村",
                 "for_whom": "parent"})
    text = "".join(summary_texts(t, DOMAIN))
    assert "13812345678" not in text and ID not in text
    assert "5678" in text and "陈小明" in text and text.endswith("对吗？")  # the caller checks the name


def test_for_whom_reminds_proxy_rule():
    out, said = run("for_whom", "给我妈办")
    assert out["for_whom"] == "parent" and "不能代办" in said


def test_xusui_age_asks_birth_month_instead_of_guessing():
    t = {"flow": "resident_pension_claim"}
    out, _ = run("flow_q1", "虚岁六十一", slots=t)
    assert out == {"flow_q1": None, "flow_pending": "birth:flow_q1"}
    texts, _ = ask_text("flow_q1", tracker({**t, **out}), DOMAIN)
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
            texts, _ = ask_text(specs.QUESTION_SLOTS[i], tracker({"flow": flow}), DOMAIN)
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
    from textnorm.answers import yes_no
    assert yes_no("交够了") is True and yes_no("没交够") is False and yes_no("不够") is False


# --- the answers callers gave that were misread (issue 13)
def test_yes_with_a_negated_echo_of_the_question_is_yes():
    out, _ = run("flow_q1", "是的嘛，上个月补的还没拿到", slots={"flow": "idcard_temporary"})
    assert out["flow_q1"] == "yes" and "flow_done" not in out


def test_long_stay_with_a_son_is_long_term_and_recorded():
    out, _ = run("flow_q1", "长住，以后就住儿子那了", slots={"flow": "offsite_filing"})
    assert out["flow_q1"] == "long_term" and "flow_done" not in out


def test_not_enough_income_is_an_answer_for_dibao():
    out, _ = run("flow_q1", "不够", slots={"flow": "dibao"})
    assert out["flow_q1"] == "no"


def test_a_name_with_you_in_it_is_a_name_not_a_yes():
    out, said = run("applicant_name", "我叫黄有福")
    assert out["applicant_name"] == "黄有福" and "黄" in said


def test_dialect_self_reference_is_not_the_name():
    out, _ = run("applicant_name", "俺叫王桂兰")
    assert out["applicant_name"] == "王桂兰"


def test_my_old_man_is_the_spouse():
    out, _ = run("for_whom", "给我老汉办的")
    assert out["for_whom"] == "spouse"


def test_a_correction_inside_the_phone_number_keeps_the_corrected_number():
    out, _ = run("phone", "幺三八，哎不对不对，是幺五八幺二三四五六七八")
    assert out["phone"] == "15812345678"


def test_this_number_on_a_call_is_the_calling_number_read_back_for_a_yes():
    form, d = ValidateFlowForm(), CollectingDispatcher()
    t = tracker(text="就这个号，俺儿子给买的手机", channel="voice")
    t.events[-1]["metadata"]["caller"] = "13904568213"
    out = form.validate_phone("就这个号，俺儿子给买的手机", d, t, DOMAIN)
    assert out["phone"] == "13904568213" and out.get("phone_confirm") is None   # the read-back still asks


def test_the_calling_number_though_the_beneficiary_has_no_phone():
    form, d = ValidateFlowForm(), CollectingDispatcher()
    t = tracker(text="打我这个电话就行，我孙女没手机", channel="voice")
    t.events[-1]["metadata"]["caller"] = "15179643208"
    assert form.validate_phone("打我这个电话就行，我孙女没手机", d, t, {})["phone"] == "15179643208"


def test_this_number_in_a_chat_says_it_cannot_be_seen_and_asks_again():
    out, said = run("phone", "留我的，我是他闺女")
    assert out["phone"] is None and "看不到" in said and out.get("flow_tries") is None


def test_no_phone_is_recorded_explicitly():
    out, said = run("phone", "我没有手机")
    assert out["phone"] == "none" and out["phone_confirm"] == "skip"


def test_damaged_card_is_recorded_as_damaged():
    out, _ = run("flow_q1", "卡坏了，断成两截", slots={"flow": "idcard_renewal"})
    assert out["flow_q1"] == "damaged"


def test_pension_one_year_before_60_registers_with_the_rule_said():
    out, said = run("flow_q1", "五十九", slots={"flow": "resident_pension_claim"})
    assert out["flow_q1"] == "59" and "flow_done" not in out and "60" in said


def test_ambiguous_village_is_asked_again_then_resolved():
    out, _ = run("village", "王家村")
    asked = "".join(ask_text("village", tracker(out), DOMAIN)[0])
    assert out["village"] is None and "城关镇" in asked and "柳树镇" in asked and asked.endswith("？")
    out2, _ = run("village", "柳树镇的", slots=out)
    assert out2["village"] == "柳树镇王家村" and out2["flow_place"]["township"] == "柳树镇"


def test_the_village_asked_about_wins_over_a_landmark_village():
    out, _ = run("village", "柳树镇个王家村，靠马鞍山那头", slots={"flow_pending": "place:王家村:城关镇|柳树镇"})
    assert out["village"] == "柳树镇王家村"


def test_the_whole_phone_said_again_at_read_back_corrects_it():
    out, _ = run("phone_confirm", "哎不对不对，最后是九三七，幺三两幺四五八洞九三七", slots={"phone": "13214580973"})
    assert out["phone"] == "13214580937"


def test_short_village_name_resolves_to_township_and_village():
    out, _ = run("village", "杨湾那边")
    assert out["flow_place"] == {"township": "柳树镇", "village": "杨湾村", "county": "松溪县"}


@pytest.mark.parametrize("text,command", [("再说一遍", "repeat"), ("你说啥子", "repeat"), ("说慢点", "slow_down"),
                                          ("等一下我找一下身份证", "wait"), ("算了，不办了", "stop_flow"),
                                          ("转人工", "request_human"), ("不是", None), ("不对", None),
                                          ("幺三八等一下", None)])
def test_commands_inside_a_form(text, command):
    assert command_of(text) == command


def test_every_question_is_marked_for_the_channels():
    t = tracker({"flow": "idcard_lost"})
    assert ask_payload("flow_q1", t) == {"event": "ask", "key": "stolen", "expect": "yesno", "rate": "normal"}
    assert ask_payload("id_number", t)["expect"] == "digits"
    assert ask_payload("village", t)["key"] == "place"


def test_full_years_said_with_xusui_are_taken():
    out, _ = run("flow_q1", "虚岁十一，周岁十岁", slots={"flow": "idcard_first"})
    assert out["flow_q1"] == "10"


def test_xusui_with_the_birth_month_said_needs_no_second_question():
    out, said = run("flow_q1", "虚岁八十了呀，伊是四七年三月里生个", slots={"flow": "elderly_allowance"})
    assert out["flow_q1"] is not None and "周岁" in said


def test_lunar_birthday_far_from_the_threshold_is_not_asked_again():
    out, _ = run("flow_q1", "八十八了哦，农历八月十五生的", slots={"flow": "elderly_allowance"})
    assert out["flow_q1"] == "88"


def test_elderly_allowance_under_80_is_told_from_when():
    out, said = run("flow_q1", "78周岁", slots={"flow": "elderly_allowance"})
    assert out["flow_done"] == "ineligible" and "80" in said


@pytest.mark.parametrize("said,town,village", [("分林村", "青龙乡", "枫林村"), ("大平乡王泥塘村", "大坪乡", "黄泥塘村"),
                                               ("六树镇羊湾村", "柳树镇", "杨湾村")])
def test_places_said_as_they_sound(said, town, village):
    out, _ = run("village", said)
    assert out["flow_place"]["township"] == town and out["flow_place"]["village"] == village


def test_waiting_in_wu_is_a_pause_not_digits():
    assert command_of("侬等一歇，我去寻一寻户口本") == "wait"


def test_a_grandchild_getting_an_id_card_is_the_first_card():
    assert specs.pick_flow("我孙女想办个身份证") == "idcard_first"


def test_a_place_denied_is_not_the_place_said():
    out, _ = run("village", "柳树镇那个王家村，不是城关那个")
    assert out["village"] == "柳树镇王家村"


def front_door(slot, text, slots=None, intent=None):
    form, d = ValidateFlowForm(), CollectingDispatcher()
    out = form._front_door(slot, text, d, tracker(slots, text, intent))
    return out, " ".join(said(m) for m in d.messages)


def test_asking_for_a_person_inside_a_longer_answer_hands_off():
    out, _ = front_door("applicant_name", "你这机器说话俺听不大明白，你给俺转个人工，俺跟真人说")
    assert out["handoff"] is True and out["flow_done"] == "handoff"


def test_an_answer_with_something_put_off_for_later_is_an_answer_not_a_cancel():
    out, _ = front_door("for_whom", "俺自个儿，老伴儿的回头再说", slots={"flow": "offsite_filing"})
    assert out is None
    out, _ = run("for_whom", "俺自个儿，老伴儿的回头再说", slots={"flow": "offsite_filing"})
    assert out["for_whom"] == "self"


def test_cancelling_while_giving_no_number_still_asks_to_confirm_the_cancel():
    out, _ = front_door("id_number", "哎呀算了算了，勿办了，阿拉儿子讲伊帮阿拉勒手机上弄", slots={"flow": "offsite_filing"})
    assert out["flow_pending"] == "cancel"


def test_naming_another_matter_instead_of_answering_starts_that_flow():
    out, said = front_door("flow_q1", "能不能直接办个临时身份证", slots={"flow": "idcard_lost"})
    assert out["flow"] == "idcard_temporary" and out["flow_q1"] is None and "临时身份证" in said


def test_an_answer_with_another_matter_mentioned_stays_in_the_flow():
    out, _ = front_door("flow_q2", "要坐火车，能办临时身份证吗", slots={"flow": "idcard_lost", "flow_q1": "lost"})
    assert out is None


def test_the_temporary_card_wanted_while_renewing_is_the_temporary_flow():
    assert specs.pick_flow("我老公张身份证到期，换紧新嘅，仲未攞到，想整张临时嘅") == "idcard_temporary"


def test_staying_for_good_is_a_long_stay():
    out, _ = run("flow_q1", "长远住过去了，勿回来了", slots={"flow": "offsite_filing"})
    assert out["flow_q1"] == "long_term"


def test_no_temporary_card_without_a_reissue_says_to_reissue_first():
    out, said = run("flow_q1", "没有，还没去补，就想先弄个临时的应付一下", slots={"flow": "idcard_temporary"})
    assert out["flow_done"] == "ineligible" and "补办" in said


def test_the_questions_own_matter_said_back_is_an_answer_not_another_matter():
    t = tracker({"flow": "death_deregistration", "flow_q1": "yes"}, "在领养老金")
    t.events = [{"event": "user", "text": "我爸过世了，要销户"}, {"event": "bot", "text": "老人生前在领养老金吗？"},
                {"event": "user", "text": "在领养老金"}]
    assert ValidateFlowForm()._front_door("flow_q2", "在领养老金", CollectingDispatcher(), t) is None


@pytest.mark.parametrize("said,flow", [("我婆娘的身份证洗衣服的时候洗烂了", "idcard_renewal"),
                                       ("我老汉儿的身份正搞落了，想补一个", "idcard_lost")])
def test_dialect_words_for_a_damaged_or_lost_card_pick_its_flow(said, flow):
    assert specs.flow_trigger(said) == flow


def test_asking_for_the_read_back_again_and_confirming_in_one_breath_confirms():
    out, _ = front_door("id_confirm", "你再念一遍嘛……嗯，对的", slots={"id_number": ID})
    assert out is None
    out, _ = run("id_confirm", "你再念一遍嘛……嗯，对的", slots={"id_number": ID})
    assert out["id_confirm"] == "yes"


def test_a_repeat_request_alone_asks_again():
    out, _ = front_door("id_confirm", "你再念一遍", slots={"id_number": ID})
    assert out["flow_pending"] == "repeat"


def test_no_birth_certificate_yet_is_a_next_step_not_a_registration():
    out, said = run("flow_q1", "还没有呢，医院讲要过几天才好拿", slots={"flow": "birth_registration"}, intent="deny")
    assert out["flow_done"] == "next_step" and "出生医学证明" in said


def test_someone_else_at_home_who_can_use_a_smartphone_is_a_yes():
    out, said = run("flow_q2", "我不会耍，我孙女会，她放假在屋头，天天拿起手机刷",
                    slots={"flow": "pension_qualification", "flow_q1": "yes"})
    assert out["flow_q2"] == "yes" and out["flow_done"] == "self_service"


@pytest.mark.parametrize("slot,text,slots", [
    ("for_whom", "等一下啊，俺闺女来电话了……她说她在那边手机上自己能弄，那算了，不麻烦恁了，不办了",
     {"flow": "offsite_filing"}),
    ("applicant_name", "等一哈，娃他爸在喊……哦，他说学校上个月已经统一办了，那就不办了，算了，不好意思哈",
     {"flow": "idcard_first"}),
    ("flow_confirm", "等一下……我崽刚发信息来，他说他下个礼拜回来带我去派出所，那算哒，不办哒", {}),
])
def test_a_plain_cancel_after_a_story_asks_to_confirm_the_cancel(slot, text, slots):
    """The story mentions a relative or a name; the caller still calls it off."""
    out, _ = front_door(slot, text, slots=slots)
    assert out["flow_pending"] == "cancel"


def test_a_certificate_said_to_be_there_is_a_yes_whatever_the_story_after():
    out, _ = run("flow_q1", "开了的，医院开的。他上个月在医院走的，当时叫了120送去的，没抢救过来",
                 slots={"flow": "death_deregistration"})
    assert out["flow_q1"] == "yes" and "flow_done" not in out


def test_asking_twice_to_hear_the_question_again_offers_a_person():
    slots = {s: None for s in FORM_SLOTS}
    slots.update({"flow": "pension_qualification", "flow_asked": "flow_q1", "requested_slot": "flow_q1"})
    events = [{"event": "user", "text": "你说慢点，大点声", "metadata": {"channel": "voice"}},
              {"event": "bot", "text": "好的，我说慢一点。老人能自己出门走动吗？"},
              {"event": "user", "text": "啥？你说啥？", "metadata": {"channel": "voice"}}]
    t = Tracker("unit", slots, {"text": "啥？你说啥？", "intent": {}}, events, False, None, {"name": "flow_form"},
                "action_listen")
    out = ValidateFlowForm()._front_door("flow_q1", "啥？你说啥？", CollectingDispatcher(), t)
    assert out == {"flow_q1": None, "flow_offer_human": "flow_q1", "flow_pending": "unheard"}
    t.slots.update(out)
    assert required_slots_for(t)[0] == "human_offer"
    assert ask_text("human_offer", t, DOMAIN)[0] == ["您听不清的话，给您转人工好不好？"]


def test_asking_again_then_slower_without_trouble_hearing_only_repeats():
    slots = {s: None for s in FORM_SLOTS}
    slots.update({"flow": "idcard_lost", "flow_asked": "flow_q2", "requested_slot": "flow_q2"})
    events = [{"event": "user", "text": "说慢点", "metadata": {"channel": "voice"}},
              {"event": "user", "text": "再说一遍", "metadata": {"channel": "voice"}}]
    t = Tracker("unit", slots, {"text": "再说一遍", "intent": {}}, events, False, None, {"name": "flow_form"},
                "action_listen")
    assert ValidateFlowForm()._front_door("flow_q2", "再说一遍", CollectingDispatcher(), t) == \
        {"flow_q2": None, "flow_pending": "repeat"}


def test_the_lost_card_of_the_one_who_died_does_not_start_a_reissue():
    out, _ = front_door("flow_q1", "她身份证翻遍了也找不着", {"flow": "death_deregistration"})
    assert out is None


def test_an_id_the_caller_will_not_type_in_the_chat_is_left_for_the_office():
    out, said = run("id_number", "我号码勿想在微信里打出来")
    assert out["id_number"] == "unknown" and out["id_confirm"] == "skip" and "核对" in said
