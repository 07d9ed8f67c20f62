"""Dialect words read as standard Mandarin (textnorm/dialect.yaml)."""
import pytest

from textnorm.dialect import standard


@pytest.mark.parametrize("said,std", [("阿爷唔见咗", "阿爷不见了"), ("莫得", "没有"), ("侬讲啥", "你讲啥"), ("唔使", "不用")])
def test_dialect_words_become_standard(said, std):
    assert standard(said) == std


def test_standard_words_are_unchanged():
    assert standard("我想办低保") == "我想办低保"
