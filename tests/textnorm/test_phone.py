import pytest

from textnorm.phone import correct_name, parse_name, read_back_name, validate_name, validate_phone


@pytest.mark.parametrize("text", ["13812345678", "幺三八 幺二三四 五六七八", "+86 138-1234-5678", "一三八一二三四五六七八"])
def test_phone_ok(text):
    assert validate_phone(text) == (True, "13812345678", "")


@pytest.mark.parametrize("text,reason", [("1381234567", "位数不对"), ("12812345678", "手机号开头不对"),
                                         ("23812345678", "手机号开头不对")])
def test_phone_bad(text, reason):
    ok, _, got = validate_phone(text)
    assert not ok and got == reason


@pytest.mark.parametrize("text,name", [
    ("我叫陈小明", "陈小明"),
    ("耳东陈，大小的小，明天的明", "陈小明"),
    ("程小明，耳东陈", "陈小明"),        # ASR homophone fixed by the description
    ("弓长张，张三", "张三"),
    ("立早章，章华", "章华"),
    ("木子李 李秀兰", "李秀兰"),
    ("口天吴，吴国", "吴国"),
    ("名字叫王秀兰", "王秀兰"),
    ("邝伟强，广字头加个黄色嘅黄……唔系，系广东嘅广加个耳仔旁，邝", "邝伟强"),   # the described one said again
])
def test_parse_name(text, name):
    assert parse_name(text) == name


def test_correct_name():
    assert correct_name("程小明", "名字是耳东陈") == "陈小明"
    assert correct_name("章华", "不对，是弓长张") == "张华"
    assert correct_name("李四", "名字是陈小明") == "陈小明"


def test_validate_name():
    assert validate_name("陈小明") == (True, "")
    assert not validate_name("陈")[0]
    assert not validate_name("abc")[0]


def test_read_back_name():
    assert read_back_name("陈小明").startswith("陈，耳东陈；小，大小的小")


@pytest.mark.parametrize("said,name", [
    ("龚秀华，共产党的共下面一个龙，秀气的秀，中华的华", "龚秀华"),   # a description never adds to the name
    ("章阿娣，立早章，阿姨个阿，女字旁一个弟弟个弟", "章阿娣"),       # radical + 弟 is 娣, not 弟
    ("陈银娣，耳东陈，金银嘅银，女字边个弟", "陈银娣"),
    ("程小明，耳东陈", "陈小明"),
    ("谭一诺 言字旁那个谭 一二三的一 承诺的诺 跟我姓", "谭一诺"),   # whose surname: no part of the name
    ("黄思琪 黄色嘅黄 思想嘅思 王字边加个其", "黄思琪"),       # radical + 其 is 琪 (加个 is no 吴语 个)
])
def test_described_characters(said, name):
    assert parse_name(said) == name
