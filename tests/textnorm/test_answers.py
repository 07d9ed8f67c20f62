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


@pytest.mark.parametrize("said,expected", [("给我老汉儿办的", "parent"), ("隔壁王婆婆", "other")])
def test_relation(said, expected):
    assert answers.relation(said) == expected


@pytest.mark.parametrize("said,expected", [("不咋满意", "不满意"), ("非常满意", "非常满意"), ("3", "基本满意")])
def test_rating(said, expected):
    assert answers.rating(said) == expected
