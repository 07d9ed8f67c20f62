"""Reply text -> the words a speech engine must say: every Arabic number spelt out for the ear.

    speakable("丢失补领40元，15个工作日办好。") -> "丢失补领四十元，十五个工作日办好。"
    speakable("请打119！")                     -> "请打幺幺九！"
    speakable("您的电话是13812345678")          -> "您的电话是幺三八，幺二三四，五六七八"

Elderly-friendly readings, one rule each:
- an amount (a number before a unit: 元, 天, 个, 岁, 月, 日…, or after 第) is said as a number: 四十元;
- a year is said digit by digit with 一: 二零二六年;
- everything else (phone and ID numbers, hotlines, codes) digit by digit, 1 as 幺, in groups
  (phone 3-4-4, ID 3-3-4-4-4, other long numbers in fours) — the way callers read them back.
The speech engines get this text, so both espeak-ng and a neural voice say numbers the same way.
Pure function; used by voice.engines.tts before any engine.
"""
from __future__ import annotations

import re

from textnorm.spoken_numbers import ID_GROUPS, PHONE_GROUPS, read_digits

# Units and measure words after which a number is an amount, not a code.
_UNITS = "元块角分毛岁周天日月年个次张份人户名位项件倍米里斤吨亩平小时号层楼栋组级秒点%％"
_TWO_AS_LIANG = set("元个次张份人户名位项件倍块天年周岁")
_NUMBER = re.compile(r"(第)?(\d+(?:\.\d+)?[Xx]?)(?=(小时|[" + re.escape(_UNITS) + r"])?)")
_CN = "零一二三四五六七八九"
_FULL_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ．", "0123456789Xx.")


def _cardinal(n: int) -> str:
    """0..99999999 -> Chinese cardinal (四十, 一百零五, 一千二百, 两万)."""
    if n < 10:
        return _CN[n]
    if n >= 10000:
        high, low = divmod(n, 10000)
        tail = "" if low == 0 else ("零" if low < 1000 else "") + _cardinal(low)
        return _cardinal(high) + "万" + tail
    out, zero = "", False
    for value, name in ((1000, "千"), (100, "百"), (10, "十")):
        d, n = divmod(n, value)
        if d:
            if zero:
                out += "零"
                zero = False
            out += ("" if (d == 1 and name == "十" and not out) else _CN[d]) + name
        elif out:
            zero = True
    if n:
        out += ("零" if zero else "") + _CN[n]
    return out


def _amount(number: str, unit: str) -> str:
    whole, _, frac = number.partition(".")
    said = _cardinal(int(whole))
    if said == "二" and unit and unit[0] in _TWO_AS_LIANG or said[:2] in ("二千", "二万"):
        said = "两" + said[1:]
    if frac:
        said += "点" + "".join(_CN[int(d)] for d in frac)
    return said


def _code(number: str) -> str:
    if len(number) == 18:
        return read_digits(number, ID_GROUPS)
    if len(number) == 11 and number.startswith("1"):
        return read_digits(number, PHONE_GROUPS)
    if len(number) > 6:
        return read_digits(number, tuple([4] * (len(number) // 4 + 1)))
    return read_digits(number)


def _say(match: re.Match) -> str:
    ordinal, number, unit = match.group(1) or "", match.group(2), match.group(3) or ""
    if number.upper().endswith("X") or number.startswith("0") and len(number) > 1 and "." not in number:
        return ordinal + _code(number)
    if unit == "年" and len(number) == 4:
        return "".join(_CN[int(d)] for d in number)
    if unit in ("%", "％"):
        return "百分之" + _amount(number, "")
    if ordinal or (unit and len(number.partition(".")[0]) <= 8):
        return ordinal + _amount(number, unit)
    if "." in number:
        return _amount(number, "")
    return _code(number)


def speakable(text: str) -> str:
    """Every Arabic number in the text written out as it must be said (see the module docstring)."""
    text = (text or "").translate(_FULL_WIDTH)
    text = _NUMBER.sub(_say, text)
    return text.replace("%", "").replace("％", "")
