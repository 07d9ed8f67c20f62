"""Exact dialogue-act rules (bot/nlu/acts.yaml): dialect and elderly forms, once each."""
import pytest

from bot.nlu.acts import classify


@pytest.mark.parametrize("text,act", [
    ("要得", "affirm"), ("中", "affirm"), ("对头", "affirm"), ("是的嘛", "affirm"), ("对对对", "affirm"),
    ("莫得", "deny"), ("不得行", "deny"), ("冇", "deny"), ("不是", "deny"),
    ("再说一遍", "repeat"), ("你说啥", "repeat"), ("说慢点", "slow_down"),
    ("转人工", "request_human"), ("我要找真人说", "request_human"), ("你是机器人吗", "bot_challenge"),
    ("算了", "stop_flow"), ("好的，谢谢", "thank"), ("嗯，再见", "goodbye"), ("喂", "greet"),
])
def test_acts(text, act):
    assert classify(text) == act


@pytest.mark.parametrize("text", ["我身份证丢了，想先挂个失", "他叫张德贵", "我想办个残疾证", "感谢派出所民警"])
def test_not_acts(text):
    assert classify(text) is None


@pytest.mark.parametrize("text,act", [
    ("给我转人攻", "request_human"), ("你再说一变吧", "repeat"),   # recogniser slips of 人工, 一遍
    ("得嘞", "affirm"), ("什么？", "repeat"),                      # the last character is not a particle
    ("不对，是西头那家", "deny"), ("你说得太快了我记不住", "slow_down"),
    ("你是不是自动回复的", "bot_challenge"), ("我要找真人", "request_human"),
    ("下回再办吧", "stop_flow"), ("那你忙吧", "goodbye"), ("我那个残疾证审核到哪一步了", "query_progress"),
    ("侬讲啥", "repeat"),                                         # dialect read as standard words
])
def test_general_forms_of_acts(text, act):
    assert classify(text) == act


@pytest.mark.parametrize("text", ["补贴一般什么时候发", "老年卡在哪里办", "挂失"])
def test_matter_questions_are_not_acts(text):
    assert classify(text) is None


def test_asking_for_a_person_wins_over_asking_whether_it_is_a_robot():
    assert classify("你系咪机器人？我要转人工，我要同真人讲") == "request_human"
    assert classify("你是机器人吗") == "bot_challenge"


@pytest.mark.parametrize("text,act", [
    ("啱啱啱", "affirm"), ("冇错啊", "affirm"), ("系啊", "affirm"), ("弗对", "deny"), ("冒得", "deny"),
    ("要不得", "deny"), ("莫办了，我再想想", "stop_flow"), ("唔办喇", "stop_flow"),
    ("我那个申请处理咗未", "query_progress"), ("上个月报的事有回音没得", "query_progress"),
    ("一颗星，太慢了", "rate_service"), ("我给你们打八分", "rate_service"),
    ("上个月报的路修好了，你们叫我评分", "rate_service"),
    ("窗口的人态度好差，问两句就不耐烦", "complain"), ("社区的小王态度特别好", "praise"),
    ("举报有人在山上偷偷砍树", "report_problem"), ("我觉得镇上应该多开一趟班车", "suggest"),
    ("喂，我哋条村冇电㗎，成两日喇", "report_problem"), ("手机没电了", None), ("村里没电话", "provide_info"),
    ("你是人还是电脑", "bot_challenge"), ("帮我找你们工作人员", "request_human"),
    ("侬再讲一趟", "repeat"), ("我哋下次再倾", "goodbye"),
])
def test_dialect_and_everyday_forms_of_acts(text, act):
    assert classify(text) == act


@pytest.mark.parametrize("text,act", [
    ("对头，就是李家坝那个", "affirm"), ("呃，莫得，我屋头没得车", "deny"),
    ("嗯……那不办了，我回去问问我儿子", "stop_flow"),
    ("好好好，那就帮我登记", "affirm"),        # yes to the offer, not a new request
    ("可以，打个五分", "rate_service"),        # a later clause's act wins over the opening yes
    ("不对，刚才那个取消掉", "stop_flow"),
])
def test_an_answer_opening_with_yes_or_no_is_that_answer(text, act):
    assert classify(text) == act


def test_hesitation_is_no_yes():
    assert classify("就是……那个……路灯都不亮了") == "report_problem"


@pytest.mark.parametrize("text", ["我没说要投诉", "我冇讲过要转人工"])
def test_saying_one_did_not_ask_for_an_act_denies(text):
    assert classify(text) == "deny"


@pytest.mark.parametrize("text,act", [
    ("不用帮我预约，我自己过去", "deny"), ("不要寄了，我自己来拿", "deny"),
])
def test_declined_offers(text, act):
    assert classify(text) == act


def test_a_key_word_said_is_no_slip_of_another():
    assert classify("你再讲一遍那个电话号码，是几号") == "repeat"     # 再讲 is not 再见
    assert classify("水管破了，水白白流走") == "report_problem"   # 白白 is no 拜拜


@pytest.mark.parametrize("text", ["您好，我想咨询个事情", "喂，有人在没", "哎你好啊小伙子", "喂？听得见不",
                                  "喂，喂，听得见伐"])
def test_greetings_with_nothing_asked_yet(text):
    assert classify(text) == "greet"


def test_classify_keeps_a_bounded_number_of_answers():
    from bot.nlu import acts

    assert acts.classify("转人工") == acts.classify.__wrapped__("转人工") == "request_human"
    assert acts.classify.cache_info().maxsize == 1024
    for i in range(1100):
        acts.classify(f"第{i}句")
    assert acts.classify.cache_info().currsize <= 1024


def test_declining_the_materials_and_asking_to_register_is_a_request():
    # "要不要我一条一条说材料？" -> "不用了，帮我登记": the no is to the materials, the request stands
    assert classify("不用了，帮我登记") == "request_registration"
    assert classify("不用帮我登记") == "stop_flow"


def test_a_greeting_with_a_preface_is_a_greeting():
    assert classify("喂，侬好，我问一问噢") == "greet"    # no matter is asked yet ("问" is not 法律咨询)


def test_a_no_that_goes_on_to_ask_is_no_plain_no():
    assert classify("不是，高龄津贴，八十岁以上那个补贴，我妈能不能领") is None   # the matter reader decides


@pytest.mark.parametrize("text,act", [
    ("喂，是幺两三四五吧", "greet"),                  # 12345 read out as 幺两三四五
    ("弗是", "deny"),                                # Wu 弗 for 不
    ("那就暂停一下", "stop_flow"), ("赞停", "stop_flow"),   # 暂停, also as the recogniser writes it
    ("给他们打吾分", "rate_service"),                 # 五 heard as 吾
    ("五分，办得快", "rate_service"),                 # a score opening the answer
    ("讲乜嘢", "repeat"), ("哎呀说得太快咯", "slow_down"),
    ("慢一点点嘛", "slow_down"), ("你是个电恼吧", "bot_challenge"), ("那边是自动应答的吧", "bot_challenge"),
    ("那就停一下", "stop_flow"),
    ("那个民警说话太冲了", "complain"), ("答应上门来看，到现在也没来", "complain"),
    ("那个交警真是好样的", "praise"), ("村医对老人真好", "praise"),
    ("我那个补贴申请通过了吗", "query_progress"),
    # years of contributions are no application handed in: asking when the pension comes is no progress query
    ("那个农保交了好些年，啥时候能领钱", None), ("材料交了半个月了，啥时候有结果", "query_progress"),
    ("燃气停了，做不了饭", "report_problem"), ("医保小程序打不开", "report_problem"),
    ("楼里电梯又不动了", "report_problem"), ("街上电线掉下来了", "report_problem"), ("我身份证掉了", None),
    ("我觉得社区可以开个老年食堂", "suggest"),
])
def test_accent_merged_and_cue_less_forms_of_acts(text, act):
    assert classify(text) == act


@pytest.mark.parametrize("text", ["暂停营业要办什么手续", "三分钟能办好吗", "我欠了燃气费被停了，交了钱多久能恢复"])
def test_words_like_those_acts_that_are_not_them(text):
    assert classify(text) is None


@pytest.mark.parametrize("text", [
    "低保那个事先不弄了，我想问问医保的事", "这项先搁着，我还有别的事", "先跳过这个，别挂电话，我还有事要问",
    "这个不要往下走了，电话莫断，我换个事", "不用帮我登记了，先别挂，我问下别的",
])
def test_dropping_a_matter_for_another_is_a_cancel_never_goodbye(text):
    assert classify(text) == "stop_flow"


def test_a_cancel_before_an_emergency_is_not_the_act():
    # the other matter comes after the cancel; what follows here is an emergency, not a new question
    assert classify("我问下社保的事……先不问了，隔壁有人在砸门抢东西") != "stop_flow"


@pytest.mark.parametrize("text", ["莫挂电话，我还有个事", "你先别挂，还有件事", "先别挂了"])
def test_keeping_the_line_open_is_never_goodbye(text):
    from bot.nlu.acts import keeps_line

    assert classify(text) != "goodbye" and keeps_line(text)


def test_keeping_the_line_is_not_reporting_a_loss():
    from bot.nlu.acts import keeps_line

    assert not keeps_line("银行卡丢了要不要挂失") and classify("好的，再见") == "goodbye"


def test_the_models_goodbye_yields_when_the_line_is_kept_open():
    from rasa.shared.nlu.training_data.message import Message

    from bot.nlu.acts import DialogueActRules

    message = Message(data={"text": "莫挂电话哈，我还有个事", "intent": {"name": "goodbye", "confidence": 0.9},
                            "intent_ranking": [{"name": "goodbye", "confidence": 0.9},
                                               {"name": "ask_matter", "confidence": 0.05}]})
    DialogueActRules().process([message])
    assert message.get("intent")["name"] != "goodbye"


@pytest.mark.parametrize("text,act", [
    ("上回说两天回电话，现在都一个星期了", "query_progress"), ("我报的那个事咋还没人来", "query_progress"),
    ("我的残疾证批没批下来", "query_progress"), ("我嘅嘢搞掂未", "query_progress"),
    ("我那个事情现在到那一步了", "query_progress"),
    ("上回说两天回电话，现在都一个星期了，骗人嘛", "complain"),
    ("村干部把低保都给自家亲戚了", "complain"), ("让我跑了六趟还不给办", "complain"),
    ("派出所户籍窗口天天没人", "complain"),
    ("那个护士对我妈好得很", "praise"), ("你们效率真高，今天报明天就修", "praise"),
    ("那个大姐讲得好清楚", "praise"),
    ("能不能在我们村口装几个路灯", "suggest"), ("镇上应该派人到村里来讲政策", "suggest"),
    ("要是能在村里交医保就方便了", "suggest"), ("我有个点子", "suggest"),
    ("你好，我是河西村的，打个电话过来", "greet"), ("喂，系唔系热线啊", "greet"),
])
def test_progress_complaint_praise_suggestion_and_greeting_in_callers_words(text, act):
    assert classify(text) == act


@pytest.mark.parametrize("text", [
    "跨省迁户口现在能不能一趟办完，不用来回跑", "停水好几天了也不通知", "能不能在网上办残疾证",
    "我应该到哪里去开证明", "养老金咋个还没到账，在哪查", "我买咗架车，点样上牌",
    "事是办了，就是跑了三趟，基本满意吧",
])
def test_requests_and_ratings_are_not_those_acts(text):
    assert classify(text) not in ("complain", "suggest", "query_progress", "praise")


def test_busy_is_still_goodbye():
    assert classify("我还有事，先挂了") == "goodbye"


@pytest.mark.parametrize("text,act", [
    ("喂，内个，是政府热线吧", "greet"), ("下午好，是12345吗", "greet"), ("雷猴，系唔系12345啊", "greet"),
    ("四滴，就是我本人", "affirm"),                                 # 是滴 with s for sh
    ("谢谢，我晓得了", "thank"), ("我知道了，拜拜", "goodbye"), ("辛苦了师傅", "thank"),
    ("好的，回头再说，我挂了", "goodbye"),
    ("嗯？什么", "repeat"), ("信号断了，你前面讲的我没听到", "repeat"),
    ("你说慢一点好不好，我记不住那么多", "slow_down"),
    ("让那个工作人员来接", "request_human"), ("帮我找个懂方言的人来听", "request_human"),
    ("你是不是机械人", "bot_challenge"), ("是谁在跟我说话", "bot_challenge"), ("你是电脑还是真的人", "bot_challenge"),
    ("不办了，你先别收线", "stop_flow"), ("这个就到这，我换个事问", "stop_flow"),
    ("我上回反映的事有没有人来处理过", "query_progress"), ("我提的意见你们采纳了没", "query_progress"),
    ("那个办事员收红包", "complain"), ("窗口说不归他们管，让我去别处", "complain"),
    ("我们小区的自来水发黄", "report_problem"), ("养老金这个月没到账", "report_problem"),
    ("自助机把我的卡吞了", "report_problem"),
    ("能不能在村口建个公厕", "suggest"), ("公告的字能不能印大一点", "suggest"),
    ("那个民警真好", "praise"), ("还行吧，四颗星", "rate_service"), ("不，我不是要举报", "deny"),
])
def test_round11_forms_of_acts(text, act):
    assert classify(text) == act


@pytest.mark.parametrize("text", ["残联能不能给配个助听器", "养老金这个月怎么没到账", "执照上的名字能不能改成我",
                                  "今天就到这，没别的事了", "号码长得很 我念慢点你记到"])
def test_questions_and_closings_are_not_these_acts(text):
    assert classify(text) in (None, "goodbye")
