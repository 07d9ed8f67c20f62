"""Matters ranked over the whole catalogue (bot/nlu/matter.py), without any trained model."""
import pytest

from bot.nlu.matter import aspect_intent, decide


@pytest.mark.parametrize("text,matter", [
    ("我身份证丢了", "gongan.idcard_reissue"),
    ("我想办个残疾证", "canlian.disability_card"),
    ("身份证到期了要换", "gongan.idcard_renewal"),
    ("俺娘八十了，那个高龄今天咋领", "minzheng.elderly_allowance"),
    ("家里困难，想申请低保", "minzheng.dibao"),
    # what callers say about the situation, between neighbour matters
    ("俺家承包的那块地叫村里收回去了，不服气", "nongye.land_dispute_arbitration"),
    ("镇上那个诊所给人做假单子骗医保", "yibao.fraud_report"),
    ("俺的开车本子丢了，得补一个", "gongan.driving_licence_reissue"),
    ("辞职以后想自己接着交职工医保", "yibao.flexible_employee_insurance"),
    # situations said in the caller's words (the matters' aliases)
    ("听说岁数大的每个月有钱领，我爸咋没有", "minzheng.elderly_allowance"),
    ("我妈的医保，想让她在外地看病能直接报", "yibao.offsite_filing"),
    ("有个厂子夜里往河里排脏水", "shuili.river_report"),
    ("农保交够十五年了，系唔系可以攞养老金", "renshe.resident_pension_claim"),
])
def test_best_matter(text, matter):
    _intent, best, _alt, _hits = decide(text, None, 0.0, False)
    assert best.matter_id == matter


def test_names_in_a_form_are_not_matters():
    assert decide("他叫张德贵", None, 0.0, False)[1] is None


def test_a_rule_decided_act_keeps_its_intent():
    assert decide("我身份证丢了", "affirm", 1.0, True)[0] is None


@pytest.mark.parametrize("text,intent", [("办低保要带啥", "ask_materials"), ("补身份证多少钱", "ask_fee"),
                                         ("残疾证在哪办", "ask_where"), ("我想办低保", "ask_matter")])
def test_aspect(text, intent):
    assert aspect_intent(text) == intent


def test_a_bare_aspect_question_names_no_matter():
    """'要多少钱' after a matter was discussed: the conversation's matter is meant, not a guess."""
    assert decide("要多少钱", "ask_fee", 0.9, False)[1] is None


def test_what_happened_picks_the_sibling():
    """Lost on a train: a new card (补领), not the travel proof for the same train ride."""
    _intent, best, _alt, _hits = decide("啥子嘛，身份证落在火车上了，找不回来了，我要重新补一张", "ask_where", 0.5, False)
    assert best.matter_id == "gongan.idcard_reissue"


def test_an_emergency_without_catalogue_words_names_no_matter():
    """Left to the safety gate, which asks about the emergency; a matter would silence it."""
    assert decide("几个学生娃在河里耍水，有一个没得影了", "nlu_fallback", 0.45, False)[1] is None


def test_view_similarities_keep_each_view_apart(monkeypatch):
    import numpy as np

    from catalogue import semantic

    vecs = np.eye(4, dtype=np.float32)   # matter 0: name, example; matter 1: name, summary
    mv = semantic.MatterVectors(["a", "b"], vecs, np.array([0, 0, 1, 1]), np.array([0, 2, 0, 1]))
    monkeypatch.setattr(semantic, "embed_query", lambda text: np.array([0.1, 0.9, 0.3, 0.5], dtype=np.float32))
    views = np.nan_to_num(mv.view_similarities("x"), nan=-9.0)   # rows: names, summary, examples
    assert np.allclose(views, [[0.1, 0.3], [-9.0, 0.5], [0.9, -9.0]])
    assert np.allclose(mv.similarities("x"), [0.9, 0.5])


def test_a_question_about_a_matter_is_not_a_rating_the_model_was_unsure_of():
    intent, best, _alt, _hits = decide("驾照过期一年多了还能换不，是不是得重考", "rate_service", 0.62, False)
    assert (intent, best.matter_id) == ("ask_matter", "gongan.driving_licence_renewal")


def test_sure_praise_naming_a_matter_stays_praise():
    intent, best, _alt, _hits = decide("补身份证的那个民警太好了，我要表扬他", "praise", 0.98, False)
    assert intent is None and best.matter_id == "gongan.idcard_reissue"


def test_how_far_along_is_not_where():
    assert aspect_intent("我的低保申请到哪一步了") == "ask_matter"
    assert aspect_intent("低保到哪里办") == "ask_where"


def test_clear_catalogue_words_need_no_embedding(monkeypatch):
    """The embedding is the costliest step of a parse: skipped when the words settle it."""
    from catalogue import semantic

    def no_embedding(text):
        raise AssertionError("embedded " + text)

    monkeypatch.setattr(semantic, "embed_query", no_embedding)
    _intent, best, _alt, _hits = decide("我想申请低保", "ask_matter", 0.9, False)
    assert best.matter_id == "minzheng.dibao"
    assert decide("好的", "affirm", 1.0, True)[1] is None


@pytest.mark.parametrize("text,matter", [
    ("俺身份证过期了，去银行取钱人家不给办", "gongan.idcard_renewal"),
    ("我外孙女满十六了，要给她办个身份证，头一回办", "gongan.idcard_first"),
])
def test_a_complaint_reading_without_its_words_does_not_outrank_a_flow(text, matter):
    """The model read a complaint into 不给办 / 头一回办; no complaint word is said, the matter is."""
    intent, best, _alt, _hits = decide(text, "complain", 0.58, False)
    assert (intent, best.matter_id) == ("ask_matter", matter)


def test_a_complaint_in_its_own_words_stays_over_a_flow():
    assert decide("我要投诉，补身份证的窗口态度太差", "complain", 0.9, False)[0] is None


@pytest.mark.parametrize("text,intent", [("好像是十二年，没交够十五年", "bot_challenge"),
                                         ("俺那是老人机，就能打个电话", "bot_challenge"),
                                         ("侬好，阿拉姆妈要到上海去看毛病", "query_progress"),
                                         ("我妈八十好几了，那个高龄今天咋领啊", "query_progress")])
def test_robot_or_progress_readings_need_their_words(text, intent):
    assert decide(text, intent, 0.5, False)[0] == "ask_matter"


@pytest.mark.parametrize("text,intent", [("你是不是机器人啊，俺听着不像真人", "bot_challenge"),
                                         ("俺上回报的路灯，修了没", "query_progress")])
def test_robot_or_progress_readings_with_their_words_stand(text, intent):
    assert decide(text, intent, 0.9, False)[0] is None


def test_a_model_repeat_reading_yields_to_a_cancel_said_in_a_clause():
    assert decide("啊？还得留电话啊？那算了吧，邻里邻居的，让人知道了不好，不反映了", "repeat", 0.83, False)[0] == "stop_flow"


def test_a_progress_question_the_rules_do_not_know_keeps_the_models_reading():
    assert decide("我报的事有冇得回音", "query_progress", 0.5, False)[0] is None


def test_a_question_word_meaning_anything_asks_nothing():
    assert decide("不会哦，我那个是老人机，按键的，微信是啥子我都搞不懂", "bot_challenge", 0.5, False)[0] == "ask_matter"


@pytest.mark.parametrize("said, intent", [("俺那身份正上写的日子，是今年十二月就到头了，这咋弄嘞", "goodbye"),
                                          ("我那个身份证遭我孙孙拿去耍，掰成两半了，还能用不嘛", "rate_service")])
def test_a_matter_in_words_with_no_act_is_asked_about_whatever_the_model_heard(said, intent):
    # no_act: neither the act rules nor the learned reader hear an act (acts.py act_source "none")
    got, best, _alt, _hits = decide(said, intent, 0.7, False, no_act=True)
    assert (got, best.matter_id) == ("ask_matter", "gongan.idcard_renewal")


def test_the_ranking_stands_among_the_flows_said():
    # 医保卡…刷不到 says the card flow's words, 备案 the filing's: the ranking chooses between them
    _intent, best, _alt, _hits = decide("我这个医保卡在这边医院刷不到，看病都是自己垫钱，说要办啥子备案", "ask_matter", 0.7, False)
    assert best.matter_id == "yibao.offsite_filing"


def test_a_model_stop_with_no_stop_words_does_not_stand_against_a_named_matter():
    said = "俺交那个新农保交了十五年了，今年满六十了"     # facts about the pension, nothing cancelled
    got, best, _alt, _hits = decide(said, "stop_flow", 0.48, False, no_act=True)
    assert (got, best.matter_id) == ("ask_matter", "renshe.resident_pension_claim")


def test_a_card_not_there_yet_and_a_need_now_is_the_temporary_card():
    """flow_specs.yaml prefer_over: the temporary card wins over the renewal the ranking puts first."""
    _intent, best, _alt, _hits = decide("俺儿子身份证到期换了 新的没下来 他要出车咋弄", "ask_matter", 0.9, False)
    assert best.matter_id == "gongan.idcard_temporary"


@pytest.mark.parametrize("text,matter", [
    # a death or the card itself said as background to what is wanted done (FLOW_WINDOW)
    ("残疾证有效期过了，想换个新的", "canlian.disability_card_renewal"),
    ("我爸走了，他名下的房子要过户给我", "ziran.real_estate_transfer"),
])
def test_flow_words_said_as_background_do_not_outrank_the_request(text, matter):
    _intent, best, _alt, _hits = decide(text, "ask_matter", 0.7, False)
    assert best.matter_id == matter


def test_a_registration_told_as_made_before_is_no_new_request():
    intent, best, _, _ = decide("上礼拜我打电话登记了换身份证", "request_registration", 0.9, False)
    assert intent is not None and intent != "request_registration"
    assert best.matter_id == "gongan.idcard_renewal"
    assert decide("我想登记换身份证", "request_registration", 0.9, False)[0] is None   # the model's request stays
