from textnorm.pinyin import fuzzy_key, fuzzy_syllables, merge_accent, syllables


def overlap(a, b):
    x, y = fuzzy_syllables(a), fuzzy_syllables(b)
    return sum(1 for p, q in zip(x, y) if p == q) / max(len(x), len(y))


def test_syllables_keep_non_chinese_tokens():
    assert syllables("低保") == ["di", "bao"]
    assert syllables("办app 12次，好") == ["ban", "app", "12", "ci", "hao"]
    assert syllables("") == []


def test_accent_mergers():
    assert merge_accent("zhi") == "zi" and merge_accent("chi") == "ci" and merge_accent("shi") == "si"
    assert merge_accent("lan") == merge_accent("nan") == "nan"
    assert merge_accent("fu") == merge_accent("hu") == "hu"
    assert merge_accent("fei") == merge_accent("hui")
    assert merge_accent("ren") == merge_accent("len")
    assert merge_accent("jing") == merge_accent("jin") == "jin"
    assert merge_accent("cheng") == merge_accent("cen") == "cen"
    assert merge_accent("zhang") == merge_accent("zan") == "zan"
    assert merge_accent("xiang") == "xian" and merge_accent("guang") == "guan"
    assert merge_accent("zhong") == "zong"     # -ong is not folded
    assert merge_accent("12") == "12"


def test_homophones_and_asr_slips():
    assert fuzzy_key("地宝") == fuzzy_key("低保") == "di bao"
    assert fuzzy_key("身份正") == fuzzy_key("身份证")
    assert fuzzy_key("飞机") == fuzzy_key("灰机")
    assert overlap("高龄今天", "高龄津贴") == 0.75
    assert 0 < overlap("我家找火轮", "我家着火了") < 1
    assert fuzzy_key("残疾") != fuzzy_key("低保")


def test_sound_alike_repairs_a_slip_that_shares_a_character():
    from textnorm.pinyin import SoundAlike

    sounds = SoundAlike(["着火", "溺水", "车祸", "火灾"], min_word_freq=50)
    assert sounds.repair("电瓶车着货了") == "电瓶车着火了"
    assert sounds.repair("鱼塘里有人逆水了") == "鱼塘里有人溺水了"
    assert sounds.repair("路上全是泥水") == "路上全是泥水"       # a common word is not a slip
    assert sounds.repair("车和人都多") == "车和人都多"           # 和 is read he, not huo
    assert sounds.repair("或在网上办") == "或在网上办"           # no character in common
