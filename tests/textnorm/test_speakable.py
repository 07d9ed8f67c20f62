"""Numbers in replies are said the elderly-friendly way: amounts as numbers, codes digit by digit."""
import pytest

from textnorm.speakable import speakable


@pytest.mark.parametrize("text, said", [
    ("丢失补领40元，15个工作日办好。", "丢失补领四十元，十五个工作日办好。"),
    ("每人每月1200元", "每人每月一千二百元"),
    ("每月105元", "每月一百零五元"),
    ("满60周岁可以申请", "满六十周岁可以申请"),
    ("2个工作日", "两个工作日"),
    ("2000元", "两千元"),
    ("报销比例50%", "报销比例百分之五十"),
    ("3.5元", "三点五元"),
    ("第3步", "第三步"),
    ("２０元", "二十元"),
])
def test_amounts_are_said_as_numbers(text, said):
    assert speakable(text) == said


@pytest.mark.parametrize("text, said", [
    ("请打119！", "请打幺幺九！"),
    ("12345热线", "幺二三四五热线"),
    ("工单号后四位3071", "工单号后四位三零七幺"),
    ("您的电话是13812345678", "您的电话是幺三八，幺二三四，五六七八"),
    ("11010119900307451X", "幺幺零，幺零幺，幺九九零，零三零七，四五幺叉"),
])
def test_codes_are_said_digit_by_digit_in_groups_with_yao(text, said):
    assert speakable(text) == said


def test_a_year_is_said_digit_by_digit_and_a_date_as_numbers():
    assert speakable("2026年11月30日") == "二零二六年十一月三十日"


def test_text_without_numbers_is_unchanged():
    assert speakable("您好，请问您要办什么事？") == "您好，请问您要办什么事？"
