"""Dialect-tolerant front end: pinyin correction, constrained yes/no, digits, expectations."""
import pytest

from voice.frontend import (DIGITS, FREE, MATTER, RATING, YESNO, Frontend, correct_text,
                            expectation_from)


@pytest.mark.parametrize("heard,expected", [
    ("家里困难,想申请地宝", "家里困难,想申请低保"),
    ("我想申请高林今天", "我想申请高龄津贴"),
    ("我想申請高龄今天", "我想申請高龄津贴"),
    ("我家找火轮", "我家着火了"),
    ("让老亲自隔认证在哪里做", "养老金资格认证在哪里做"),
])
def test_pinyin_correction_repairs_homophone_slips(heard, expected):
    assert correct_text(heard)[0] == expected


@pytest.mark.parametrize("text", ["你好", "转人工", "我老伴晕倒了", "算了，不办了", "今天天气不错"])
def test_pinyin_correction_leaves_good_text_alone(text):
    assert correct_text(text)[0] == text


def test_negation_is_never_flipped():
    assert "不办" in correct_text("算了，不办了")[0]


def test_yes_no_rescoring_uses_the_audio_scores():
    fe = Frontend()
    # 许董 has no yes/no keyword; the re-scorer prefers "是" -> canonical 是的
    def scorer(cands):
        return [-0.5 if c == "是" else -9.0 for c in cands]
    assert fe.process("许董", YESNO, scorer).text == "是的"
    # nothing plausible: keep what was heard
    assert fe.process("许董", YESNO, lambda c: [-20.0] * len(c)).text == "许董"
    # 无对 contains a negation keyword when no scorer is available
    assert fe.process("无对", YESNO, None).text == "不对"


def test_digits_expectation_normalises_spoken_numbers():
    fe = Frontend()
    assert fe.process("幺三八，零零幺三，八零零零", DIGITS).text == "13800138000"
    assert fe.process("1301-1219-50", DIGITS).text == "1301121950"


def test_disabled_front_end_passes_text_through():
    assert Frontend(enabled=False).process("想申请地宝", FREE).text == "想申请地宝"


@pytest.mark.parametrize("bot,slot,exp", [
    ("您是想问报火警吗？", None, YESNO),
    ("请说一下您的身份证号码。", None, DIGITS),
    ("您想办什么事？", None, MATTER),
    ("您对这次服务满意吗？请说满意或者不满意。", None, RATING),
    ("好的。", "phone", DIGITS),
    ("好的。", None, FREE),
])
def test_expectation_from_bot_text(bot, slot, exp):
    assert expectation_from(bot, slot) == exp


@pytest.mark.parametrize("heard,expected", [("喂。你好。", "喂。你好。"), ("对的，没错", "是的"), ("嗯嗯", "是的"),
                                            ("没有啊", "不对"), ("我家找火了", "我家着火了")])
def test_yes_no_keywords_only_for_real_yes_no_answers(heard, expected):
    # no audio scorer (text channel): keyword rules only; urgent words beat the expectation
    assert Frontend().process(heard, YESNO, None).text == expected


def test_surname_spelling_is_repaired():
    assert correct_text("我叫张贵兰,公长张。")[0] == "我叫张贵兰,弓长张。"
    assert correct_text("二东城,陈建国")[0].startswith("耳东陈")
