import pytest

from textnorm.spoken_numbers import (spoken_digits, Correction, DigitBuffer, parse_correction, read_id, read_phone,
                                     restated, small_number, to_digits)


@pytest.mark.parametrize("text,digits", [
    ("幺三八幺二三四五六七八", "13812345678"),
    ("一三八 1234-5678", "13812345678"),
    ("洞拐勾两", "0792"),
    ("零〇五", "005"),
    ("叉", "X"),
    ("爱克斯", "X"),
    ("１３８", "138"),
    ("我的号码是幺三八", "138"),
    ("1o1", "101"),
])
def test_to_digits(text, digits):
    assert to_digits(text) == digits


def test_ten_is_not_a_digit():
    assert to_digits("十") == ""


@pytest.mark.parametrize("token,value", [("四", 4), ("十", 10), ("十七", 17), ("二十", 20), ("4", 4), ("两", 2)])
def test_small_number(token, value):
    assert small_number(token) == value


def test_corrections():
    assert parse_correction("不对，最后四位是一二三叉") == Correction("last", 4, "123X")
    assert parse_correction("第七位是五") == Correction("nth", 7, "5")
    assert parse_correction("前三位是幺三九") == Correction("first", 3, "139")
    assert parse_correction("最后一位是叉") == Correction("last", 1, "X")
    assert parse_correction("对") is None
    assert parse_correction("幺三八") is None


def test_apply_corrections():
    assert Correction("last", 4, "123X").apply("110105194912310000") == "11010519491231123X"
    assert Correction("nth", 7, "5").apply("110105194912310000") == "110105594912310000"
    assert Correction("last", 4, "12").apply("110105194912310000") is None  # count mismatch
    assert Correction("nth", 30, "1").apply("123") is None


def test_buffer_collects_pieces_across_turns():
    buf = DigitBuffer(18)
    buf.add("幺幺零幺零五")
    assert buf.missing == 12 and not buf.complete
    buf = DigitBuffer(18, buf.digits)
    buf.add("一九四九一二三幺")
    buf.add("零零二叉")
    assert buf.complete and buf.digits == "11010519491231002X"
    buf.add("五")
    assert buf.too_long


def test_read_back_grouping():
    assert read_id("11010519491231002X") == "幺幺零，幺零五，幺九四九，幺二三幺，零零二叉"
    assert read_phone("13812345678") == "幺三八，幺二三四，五六七八"
    assert read_phone("13812345678", voice=False) == "一三八，一二三四，五六七八"


@pytest.mark.parametrize("said,digits", [
    ("侬等一歇，我去寻一寻户口本", ""), ("交这个要多少钱一年？", ""), ("七", "7"), ("幺，三，八", "138"),
    ("幺五七，五七八二，六零三七，哎唔啱，系六零三幺", "15757826031"),
])
def test_lone_numerals_in_words_are_not_digits_and_cantonese_corrections(said, digits):
    assert spoken_digits(said) == digits


@pytest.mark.parametrize("said,digits", [
    ("两九六……两九六九，对，最后是九", "2969"),                 # a restart after a pause, the last digit said again
    ("拐三三八……哎不对，拐三三六，最后是六", "7336"),
    ("两四拐八……哎不对，两四拐九，最后一个是九", "2479"),
    ("幺三八，四九三九", "1384939"),
])
def test_restarts_and_the_last_digit_said_again_count_once(said, digits):
    assert spoken_digits(said) == digits


def test_the_whole_number_said_again_replaces_the_pieces():
    buf = DigitBuffer(18, "5107221961090419")
    buf.add("哦后面是27，完整的是510722196109041927")
    assert buf.digits == "510722196109041927"
    buf = DigitBuffer(18, "51072219631120285")
    buf.add("不对不对，后头是两八五幺，完整的是五幺洞拐两两幺九六三幺幺两洞两八五幺")
    assert buf.digits == "510722196311202851"
    assert restated("哎不对不对，最后是九三七，幺三两幺四五八洞九三七", 11) == "13214580937"
    assert restated("幺九六三幺幺两洞", 18) is None


def test_all_of_the_number_said_again_in_groups_replaces_the_first_try():
    buf = DigitBuffer(18, "44158119570924")
    buf.add("四四幺五八幺，幺勾五拐洞勾两四，三三洞洞")
    assert buf.digits == "441581195709243300"


def test_a_date_in_words_explains_the_digits():
    assert spoken_digits("幺九四四零两零八 系一九四四年二月初八") == "19440208"


def test_the_last_digit_named_when_only_it_is_missing_completes_the_number():
    buf = DigitBuffer(18, "52212320030303")
    buf.add("八拐幺 最后是个叉")
    assert buf.digits == "52212320030303871X"


def test_the_whole_number_said_again_after_a_slip_in_groups():
    said = "留他妈的吧 幺八六四五 洞三两 九幺七 哎呀不对 是幺八六四五 洞三两 九拐幺"
    assert spoken_digits(said) == "18645032971"
