"""Dialect words read as standard Mandarin (textnorm/dialect.yaml)."""
import pytest

from textnorm.dialect import standard


@pytest.mark.parametrize("said,std", [("阿爷唔见咗", "阿爷不见了"), ("莫得", "没有"), ("侬讲啥", "你讲啥"), ("唔使", "不用")])
def test_dialect_words_become_standard(said, std):
    assert standard(said) == std


def test_standard_words_are_unchanged():
    assert standard("我想办低保") == "我想办低保"


@pytest.mark.parametrize("said,std", [
    ("佢半边身郁唔到", "他半边身动不了"), ("阿拉困勒电梯里厢", "我们困在电梯里面"), ("啱啱出咗门", "刚刚出了门"),
    ("我骑车遭一辆货车挂倒了", "我骑车被一辆货车挂倒了"), ("他勒索我", "他勒索我"),
])
def test_cantonese_wu_and_southwest_words(said, std):
    assert standard(said) == std
