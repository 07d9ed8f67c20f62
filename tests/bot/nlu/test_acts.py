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
