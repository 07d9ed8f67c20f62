"""Small parsers for form answers: yes/no, age, birth month, who it is for, place."""
from __future__ import annotations

import datetime as dt
import re

from textnorm.spoken_numbers import normalize_width, small_number, to_digits

_NO = ("不是", "不用", "不要", "没有", "没", "不", "莫得", "冇", "否", "算了")
_YES = ("是", "对", "要", "有", "嗯", "好", "能", "会", "行", "可以", "拿到", "中", "对头", "没错", "没问题", "够", "满了")
# Phrases whose "没"/"不" is not an answer.
_YES_OVERRIDES = ("没错", "没问题", "不错")


def yes_no(text: str, intent: str | None = None, yes_words=(), no_words=()) -> bool | None:
    """True/False/None (not an answer). Question-specific words win, then the intent, then keywords."""
    t = (text or "").strip()
    if any(w in t for w in no_words):
        return False
    if any(w in t for w in yes_words):
        return True
    if intent == "affirm":
        return True
    if intent == "deny":
        return False
    if t in ("yes", "true"):
        return True
    if t in ("no", "false"):
        return False
    if any(w in t for w in _YES_OVERRIDES):
        return True
    if any(w in t for w in _NO):
        return False
    if any(w in t for w in _YES):
        return True
    return None


def cn_int(token: str) -> int | None:
    """'八十三' / '83' / '一百零二' / '九十' -> int."""
    token = normalize_width(token).strip()
    if token.isdigit():
        return int(token)
    m = re.fullmatch(r"([一二两三四五六七八九])?百(?:零?([一二两三四五六七八九十]{1,3}))?", token)
    if m:
        hundreds = small_number(m.group(1)) if m.group(1) else 1
        rest = small_number(m.group(2)) if m.group(2) else 0
        return hundreds * 100 + (rest or 0)
    return small_number(token)


_AGE_RE = re.compile(r"([0-9０-９]{1,3}|[一二两三四五六七八九十百零]{1,5})\s*(?:周岁|岁|了)?")


def parse_age(text: str) -> tuple[int | None, str | None]:
    """(age, flag): flag 'xusui' when 虚岁 was said, 'lunar' for 农历/阴历 birthdays."""
    t = text or ""
    flag = "xusui" if "虚" in t else ("lunar" if ("农历" in t or "阴历" in t) else None)
    for m in _AGE_RE.finditer(t):
        n = cn_int(m.group(1))
        if n is not None and 0 < n <= 125:
            return n, flag
    return None, flag


def parse_birth(text: str, today: dt.date | None = None) -> tuple[int, int] | None:
    """'1943年5月' / '四三年五月' / '一九四三年五月' -> (1943, 5); None without year and month."""
    today = today or dt.date.today()
    t = normalize_width(text or "")
    m = re.search(r"([0-9零〇一二两三四五六七八九幺洞]{2,4})\s*年\s*([0-9一二三四五六七八九十]{1,3})\s*月", t)
    if not m:
        return None
    ydigits = to_digits(m.group(1))
    if len(ydigits) == 2:
        year = 1900 + int(ydigits)
        if year + 100 <= today.year:
            year += 100 if year + 100 <= today.year else 0
    elif len(ydigits) == 4:
        year = int(ydigits)
    else:
        return None
    month = cn_int(m.group(2))
    if not month or not 1 <= month <= 12 or year > today.year:
        return None
    return year, month


def age_from_birth(year: int, month: int, today: dt.date | None = None) -> int:
    """Full years; the birthday month counts as reached (day unknown, the caller is asked no more)."""
    today = today or dt.date.today()
    return today.year - year - (1 if today.month < month else 0)


_WHO = (
    ("spouse", ("老伴", "爱人", "老婆", "老公", "丈夫", "妻子", "媳妇", "对象", "孩子他爸", "孩子他妈")),
    ("parent", ("妈", "娘", "爸", "爹", "父亲", "母亲", "老人", "公公", "婆婆", "岳父", "岳母", "爷爷", "奶奶",
                "外公", "外婆", "姥姥", "姥爷")),
    ("child", ("儿子", "女儿", "孩子", "小孩", "娃", "孙子", "孙女", "闺女", "宝宝")),
    ("relative", ("哥", "姐", "弟", "妹", "亲戚", "叔", "姨", "舅", "姑", "侄", "家里人")),
    ("other", ("邻居", "朋友", "别人", "村里", "帮人")),
    ("self", ("我自己", "自己", "本人", "给我", "我的", "俺自己", "就我")),  # last: "给我妈" is a parent
)


def parse_for_whom(text: str) -> str | None:
    t = text or ""
    for value, words in _WHO:
        if any(w in t for w in words):
            return value
    if t.strip() in ("我", "俺", "自己"):
        return "self"
    return None


_PLACE_PREFIX = re.compile(r"^(?:我|俺|他|她|老人|我们)?(?:家)?(?:住在|住|在|是)?")


def parse_place(text: str) -> str | None:
    """Village/address: at least two Chinese characters after 'I live in'."""
    t = re.sub(r"[，。,.!！?？\s]", "", text or "")
    t = _PLACE_PREFIX.sub("", t)
    t = re.sub(r"(?:的?人)?$", "", t)
    if len(re.findall(r"[\u4e00-\u9fff]", t)) < 2:
        return None
    return t[:40]
