"""Situation words (bot/catalogue/situations.yaml) and sibling matters (catalogue/situations.py)."""
from catalogue import situations


def test_situations_said_in_the_residents_words():
    assert situations.said("身份证落在火车上了，找不回来了") == ("lost",)
    assert "worn" in situations.said("户口本泡了水烂掉了")
    assert "moved" in situations.said("户口迁到城里了，残疾证咋办")
    assert situations.said("我想办个残疾证") == ()


def test_the_variant_asked_for_is_a_situation():
    # 换成新的 / 有效期过了 ask for the renewal, 户口签到 (an ASR 迁) the transfer, 走脱 the cancellation
    assert situations.said("残疾证有效期过了，想换成新的") == ("worn",)
    assert situations.said("户口签到县城了，残疾本咋办") == ("moved",)
    assert situations.said("阿拉娘上个月走脱了") == ("ended",)


def test_never_having_had_the_document_is_a_first_application():
    assert situations.said("我一直没有社保卡，在哪里办") == ("first",)


def test_a_name_fits_the_situation_by_its_marks():
    assert situations.fitting(("lost",), "居民身份证补领")
    assert situations.fitting(("worn",), "居民身份证换领（到期、损坏）")
    assert not situations.fitting(("lost",), "居民身份证换领（到期、损坏）")


def test_siblings_concern_one_document(real_catalogue):
    get = real_catalogue.get
    assert situations.siblings(get("gongan.idcard_reissue"), get("gongan.idcard_renewal"))
    assert situations.siblings(get("canlian.disability_card_transfer"), get("canlian.disability_card_cancel"))
    assert not situations.siblings(get("gongan.passport"), get("gongan.idcard_renewal"))
