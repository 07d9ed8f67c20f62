"""The one vocabulary of short answers (bot forms, work-order intake, ratings, the voice front end)."""
from __future__ import annotations

import pytest

from textnorm import answers


@pytest.mark.parametrize("said,expected", [
    ("是的嘛，上个月补的还没拿到", True),     # 没 inside the detail is not a no
    ("不够", False), ("要得", True), ("唔识", False), ("我叫黄有福", None),
])
def test_yes_no_in_context(said, expected):
    assert answers.yes_no(said) is expected


@pytest.mark.parametrize("said,expected", [
    ("对的，没错", True), ("嗯嗯", True), ("没有啊", False), ("不对不对", False),
    ("喂，你好", None), ("是的，但是我还要问一下", None), ("对，不对", None),
])
def test_bare_yes_no_only_for_answers_made_of_yes_no_words(said, expected):
    assert answers.bare_yes_no(said) is expected


@pytest.mark.parametrize("said,expected", [("给我老汉儿办的", "parent"), ("隔壁王婆婆", "other"),
                                           ("我爷老子，我爸爸", "parent"), ("就俺家，写俺哩名儿吧", "self"),
                                           ("我家老头子", "spouse")])
def test_relation(said, expected):
    assert answers.relation(said) == expected


@pytest.mark.parametrize("said,expected", [("不咋满意", "不满意"), ("非常满意", "非常满意"), ("3", "基本满意"),
                                           ("满意……哎，也说不上满意，中间搞错哒一回，算基本满意咯", "基本满意")])
def test_rating(said, expected):
    assert answers.rating(said) == expected


STOLEN = "先问一句：身份证是被人偷了、或者发现有人冒用吗？"


@pytest.mark.parametrize("said,expected", [
    ("勿是偷额，自家弄丢额", False), ("没得哪个偷，是他赶场的时候自己搞落了", False),
    ("唔系，唔系俾人偷嘅，系佢自己唔记得放咗边度", False), ("是被人偷了", True), ("钱包被扒了", True),
])
def test_a_denied_question_word_is_a_no(said, expected):
    assert answers.yes_no(said, STOLEN, yes_words=("偷", "扒")) is expected


@pytest.mark.parametrize("said", ["那我自己弄", "那我自己交吧", "我自己来吧"])
def test_doing_it_oneself_declines_an_offer_of_help(said):
    assert answers.yes_no(said, "需要我帮您登记吗？") is False


def test_a_negated_echo_with_meiyou_agrees_with_the_question():
    assert answers.yes_no("没有拿到，派出所说得等一个月才下来", "您现在是在办新身份证、还没拿到吗？") is True


def test_nobody_can_is_a_no():
    assert answers.yes_no("哪个会用那个哦，我们屋头都是老年机", "家里有会用智能手机的人吗？") is False


@pytest.mark.parametrize("said,expected", [("给额爷办的", "relative"), ("我个孙", "relative"), ("我老豆", "parent"),
                                           ("我老爷子", "parent")])
def test_dialect_relations(said, expected):
    assert answers.relation(said) == expected


def test_the_highest_rating_in_dialect():
    assert answers.rating("巴适得板，好得很，要给最高的") == "非常满意"


def test_wu_cannot_remember():
    assert answers.dont_know("号码我记勿牢了，老早就记勿牢了")


@pytest.mark.parametrize("said,expected", [("啱", True), ("啱嘅", True), ("啱，啱", True), ("唔啱", False)])
def test_cantonese_right_is_a_yes(said, expected):
    assert answers.yes_no(said, "我念一遍：幺三六……对吗？") is expected


@pytest.mark.parametrize("said,expected", [
    ("俺自个儿，老伴儿的回头再说", "self"),          # the one named first; the other is for later
    ("给我老汉儿办，就是我爸", "parent"),
    ("给我自己的老伴办", "spouse"),                  # 自己的 is a possessive, not the caller
    ("我的孙子", "relative"),
    ("给俺小子，俺儿子", "child"),
    ("我老汉，我爸爸", "parent"),                   # 老汉 (husband or father) said plainly after
])
def test_the_person_named_first_is_the_beneficiary(said, expected):
    assert answers.relation(said) == expected


@pytest.mark.parametrize("said,expected", [
    ("交关满意，老满意额，小姑娘还上门来帮阿拉弄", "非常满意"),   # 吴: 交关 = very
    ("非常唔满意，打咗几次电话都冇人理", "非常不满意"),           # 粤: 唔 = 不
    ("勿满意", "不满意"),
    ("打吾分", "非常满意"),                                        # the recogniser's 五
])
def test_dialect_negators_and_intensifiers_in_ratings(said, expected):
    assert answers.rating(said) == expected


@pytest.mark.parametrize("said,expected", [
    ("那我自己在手机上弄就行，不用登记了", True), ("那先不登记了，我先去把补证办了", True),
    ("我自己办不了，你帮我登记一下吧", False), ("要得，帮我登记", False),
])
def test_declining_help_however_long_the_sentence(said, expected):
    assert answers.declines_help(said) is expected


def test_a_wu_caller_who_keeps_the_phone_back_for_fear_of_being_known_reports_anonymously():
    said = "电话我勿留了，我怕伊拉晓得是我讲额"
    assert answers.no_phone(said) and answers.anonymous(said)


@pytest.mark.parametrize("said", ["电话勿留了，我勿想让人家晓得是我反映个", "唔留啦，我唔想俾人知系我讲嘅"])
def test_not_wanting_it_known_is_an_anonymous_report(said):
    assert answers.no_phone(said) and answers.anonymous(said)


@pytest.mark.parametrize("said", ["就这个号，俺的", "打呢个号码得啦", "就打我这个，我是村民小组长", "留我的，我是他闺女",
                                  "就系呢个电话", "打俺这个 俺儿那个号俺记不住", "打俺的，俺儿子忙", "就打我这只号码好了",
                                  "打我这个电话就行，我孙女没手机"])
def test_the_number_i_am_calling_from(said):
    assert answers.this_number(said)


@pytest.mark.parametrize("said", ["幺三八五六七", "我没有电话", "他叫张德贵", "留我儿子的", "这个号码我记不住",
                                  "这个号就不留了"])
def test_not_the_calling_number(said):
    assert not answers.this_number(said)


@pytest.mark.parametrize("said", ["那中 俺等到八十再说", "哦 还要等四年啊 那就先不弄", "咁等佢满咗八十再打嚟啦",
                                  "噢噢 那我先去医院拿 拿好再来", "不用 我就问问 礼拜六自己去",
                                  "那不用了 我自己在手机上弄吧", "那先不登记 额回去问问村上能不能补交",
                                  "那我还要等好几年哦", "咁即系要等到60岁先得"])
def test_putting_the_matter_off_declines_the_offer(said):
    assert answers.declines_help(said)


@pytest.mark.parametrize("said", ["不用登记吗？", "好", "帮我登记", "我自己弄不了", "不记得了 我问问",
                                  "要等多久", "要等到什么时候"])
def test_no_decline_in_a_question_a_yes_or_a_cannot(said):
    assert not answers.declines_help(said)


@pytest.mark.parametrize("said, expected", [("唔多满意 拖咗成个月先嚟整 不满意", "不满意"), ("你们还好意思叫俺评价", None),
                                            ("不满意 呃 也不是 来是来了 就是晚了几天 算了 基本满意吧", "基本满意"),
                                            ("你们打电话问俺满意不满意，俺说一下", None),
                                            ("问我满不满意？满意", "满意")])
def test_rating_hedges_reproaches_and_levels_taken_back(said, expected):
    assert answers.rating(said) == expected


@pytest.mark.parametrize("said, expected", [("我自己的 我老伴的下回再说", "self"), ("阿姨问一下 我今年正月满六十了", None),
                                            ("给我阿姨办", "relative"), ("我自己的老伴", "spouse")])
def test_relation_clause_end_and_vocatives(said, expected):
    assert answers.relation(said) == expected


def test_a_bare_no_first_decides_and_the_rest_explains():
    assert answers.yes_no("莫得莫得 哪个偷我的嘛 是我前天赶场自己搞掉了", "身份证是被人偷了、或者发现有人冒用吗？",
                          ("偷", "冒用")) is False


def test_the_verb_of_an_a_not_a_question_said_bare_is_a_yes():
    assert answers.yes_no("坐 后天就走 票都买完了", "最近要不要坐火车、坐飞机出门？") is True


def test_the_question_word_asked_back_is_no_answer():
    ask = "先问一句：身份证是被人偷了、或者发现有人冒用吗？"
    assert answers.yes_no("偷？那倒不是，应该是我个人搞落的嘛，也没哪个拿去用", ask, ("偷", "冒用")) is False


def test_the_question_word_denied_right_after_is_a_no():
    ask = "先问一句：身份证是被人偷了、或者发现有人冒用吗？"
    assert answers.yes_no("偷倒不是哦，我自己大意了嘛，屋头翻遍了都莫得", ask, ("偷", "冒用")) is False


@pytest.mark.parametrize("said, who", [("我和我老头两个都要交，先给我个人交嘛", "self"), ("我阿嬷", "relative")])
def test_whom_for_when_one_of_several_is_picked_and_minnan_grandmother(said, who):
    assert answers.relation(said) == who


def test_a_borrowed_line_is_not_the_callers_number():
    # the caller has none of their own: no phone, not the calling number
    said = "俺没有手机，这电话是村部的座机，有事你找村部就行"
    assert (answers.this_number(said), answers.no_phone(said)) == (False, True)


def test_going_nowhere_is_a_no_to_travelling():
    assert answers.yes_no("他哪都不去，就在屋头喂鸡", "最近要不要坐火车、坐飞机出门？") is False


@pytest.mark.parametrize("said, who", [
    ("我各人的", "self"),                 # 西南: 各人 is oneself
    ("阿拉阿弟", "relative"),             # 吴: 阿弟 is the younger brother
    ("阿拉爷，我是伊囡儿", "parent"),      # 吴: 阿拉爷 is my father; the caller says who she is to him
    ("阿拉爷爷", "relative"),
    ("我是他闺女", "parent"),             # only the caller's own role said: the other side of it
    ("给我老公公，就是我对象他爹", "parent"),   # 老公公 is the father-in-law, not 老公
    ("我那个身份证遭贼娃子偷了，钱包一起", None),   # 贼娃子 is a thief
])
def test_whom_for_in_dialect_and_from_the_callers_side(said, who):
    assert answers.relation(said) == who


def test_who_would_steal_it_is_a_no_to_stolen():
    said = "偷？哪个偷他那个嘛 是他自己揣起去赶场 估计落到哪里了"
    assert answers.yes_no(said, "身份证是被人偷了吗？", yes_words=("偷",)) is False
    assert answers.yes_no("哪个偷的不晓得，钱包都没了", "身份证是被人偷了吗？", yes_words=("偷",)) is True


def test_the_old_man_called_by_his_surname_is_the_husband():
    assert answers.relation("给我老汉儿办 就是老杨") == "spouse"


def test_a_number_the_caller_will_not_say_here_is_withheld():
    assert answers.withholds("我号码勿想在微信里打出来")
    assert not answers.withholds("五幺零六二三")


def test_no_callback_wanted_is_no_phone():
    assert answers.no_phone("不用回电话了，就是想表扬一下")


def test_a_verb_then_bu_closing_the_clause_asks_back():
    assert answers.yes_no("掰成两半了 这玩意儿还能用不", "要不要我一条一条说材料？") is None
