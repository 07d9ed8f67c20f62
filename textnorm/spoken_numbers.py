"""Spoken digit strings -> digits, partial input across turns, corrections, read-back.

Callers read ID and phone numbers digit by digit, often with telephone readings
(幺 1, 两 2, 拐 7, 勾 9, 洞 0) and "叉"/"爱克斯" for the X check character; ASR gives
Arabic or full-width digits with spaces and dashes.  "十" never occurs inside a digit
string (and 四/十 merge in some accents), so it is not a digit here.

Read-back choice: on voice we say 1 as "幺" (the telephone reading; 一 and 七 sound alike
on a bad line), on text channels "一".  2 is "二", 7 "七", 0 "零", X "叉".
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

SPOKEN_DIGITS = {
    "零": "0", "〇": "0", "洞": "0", "o": "0", "O": "0",
    "一": "1", "幺": "1", "么": "1", "壹": "1",
    "二": "2", "两": "2", "贰": "2",
    "三": "3", "叁": "3",
    "四": "4", "肆": "4",
    "五": "5", "伍": "5",
    "六": "6", "陆": "6",
    "七": "7", "拐": "7", "柒": "7",
    "八": "8", "捌": "8",
    "九": "9", "勾": "9", "玖": "9",
    "叉": "X", "x": "X", "X": "X", "×": "X",
}
# Multi-character spellings first.
_WORDS = [("爱克斯", "X"), ("艾克斯", "X"), ("埃克斯", "X"), ("叉叉", "XX")]

_READ_VOICE = {"0": "零", "1": "幺", "2": "二", "3": "三", "4": "四", "5": "五",
               "6": "六", "7": "七", "8": "八", "9": "九", "X": "叉"}
_READ_TEXT = dict(_READ_VOICE, **{"1": "一"})

ID_GROUPS = (3, 3, 4, 4, 4)
PHONE_GROUPS = (3, 4, 4)


def normalize_width(text: str) -> str:
    """Full-width digits and letters -> ASCII (NFKC)."""
    return unicodedata.normalize("NFKC", text or "")


def to_digits(text: str) -> str:
    """Every digit (and X) found in `text`, in order; everything else is dropped.

    >>> to_digits("幺幺零 幺零五-一九四九")
    '1101051949'
    """
    s = normalize_width(text)
    for word, repl in _WORDS:
        s = s.replace(word, repl)
    # "o"/"O" count as zero only between digits (ASR writes 1o1 for 101), not in words.
    s = re.sub(r"(?<=[0-9])[oO](?=[0-9oO])|(?<=[0-9oO])[oO](?=[0-9])", "0", s)
    out = []
    for ch in s:
        if ch.isdigit() and ch.isascii():
            out.append(ch)
        elif ch in SPOKEN_DIGITS and ch not in "oO":
            out.append(SPOKEN_DIGITS[ch])
    return "".join(out)


# -- small Chinese numerals for positions and counts ("第十七位", "最后四位") ----------
_SMALL = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


def small_number(token: str) -> int | None:
    """'4' / '四' / '十七' / '十' -> int (1..99); None when not a number."""
    token = normalize_width(token).strip()
    if token.isdigit():
        return int(token)
    if not token:
        return None
    if token == "十":
        return 10
    if token.startswith("十") and len(token) == 2 and token[1] in _SMALL:
        return 10 + _SMALL[token[1]]
    if len(token) == 2 and token[0] in _SMALL and token[1] == "十":
        return _SMALL[token[0]] * 10
    if len(token) == 3 and token[0] in _SMALL and token[1] == "十" and token[2] in _SMALL:
        return _SMALL[token[0]] * 10 + _SMALL[token[2]]
    if len(token) == 1 and token in _SMALL:
        return _SMALL[token]
    return None


_NUM = r"([0-9０-９]+|[一二两三四五六七八九十]{1,3})"
_LAST_RE = re.compile(r"(?:最后|后|末尾|尾巴?上?|最后面)的?" + _NUM + r"位(?:数|数字)?(?:是|应该是|为|改成|改为)?(.+)")
_LAST_ONE_RE = re.compile(r"(?:最后|末尾)(?:一位|一个|那位|那个)(?:数|数字)?(?:是|应该是|为|改成)?(.+)")
_FIRST_RE = re.compile(r"(?:前面?|开头)的?" + _NUM + r"位(?:数|数字)?(?:是|应该是|为|改成|改为)?(.+)")
_NTH_RE = re.compile(r"第" + _NUM + r"(?:位|个)(?:数|数字)?(?:是|应该是|为|改成|改为)?(.+)")


@dataclass(frozen=True)
class Correction:
    """Replace digits: kind 'last' (count), 'first' (count) or 'nth' (1-based position)."""
    kind: str
    n: int
    digits: str

    def apply(self, number: str) -> str | None:
        """The corrected number, or None when the correction does not fit the number."""
        if self.kind == "nth":
            if len(self.digits) != 1 or not 1 <= self.n <= len(number):
                return None
            return number[: self.n - 1] + self.digits + number[self.n:]
        if len(self.digits) != self.n or self.n > len(number):
            return None
        if self.kind == "last":
            return number[: len(number) - self.n] + self.digits
        return self.digits + number[self.n:]


def parse_correction(text: str) -> Correction | None:
    """'不对，最后四位是一二三叉' -> Correction('last', 4, '123X'); '第七位是五' -> nth 7."""
    s = normalize_width(text or "").replace(" ", "")
    m = _LAST_ONE_RE.search(s)
    if m:
        return Correction("last", 1, to_digits(m.group(1))[:1]) if to_digits(m.group(1)) else None
    for kind, regex in (("last", _LAST_RE), ("first", _FIRST_RE), ("nth", _NTH_RE)):
        m = regex.search(s)
        if m:
            n = small_number(m.group(1))
            digits = to_digits(m.group(2))
            if n and digits:
                return Correction(kind, n, digits)
    return None


def looks_like_correction(text: str) -> bool:
    return parse_correction(text) is not None


_SAID_WRONG = re.compile(r"不对|错了|说错|不是|唔系|唔对|唔啱|冇啱|搞错|说岔|勿对|弗对")
_CN_DIGIT = "零〇洞一幺么二两三四五六七八九拐勾"
_LONE_NUMERAL = re.compile(rf"(?:(?<=[\u4e00-\u9fff])|(?<![^，,。、；;\s]))(?<![{_CN_DIGIT}0-9])[{_CN_DIGIT}](?![{_CN_DIGIT}0-9])"
                           r"(?=[\u4e00-\u9fff])")


# "幺九四四零两零八 系一九四四年二月初八": a date in words explains the digits, it is none of them
_DATE = re.compile(r"[0-9零〇一二两三四五六七八九幺洞]{2,4}年[0-9一二三四五六七八九十]{1,3}月"
                   r"(?:初|廿)?[0-9一二三四五六七八九十]{0,3}(?:日|号)?")


def spoken_digits(text: str, room: int | None = None) -> str:
    """The digits of a number said in groups, with corrections inside it: the first group said
    after "不对" replaces the group before it ("幺三八，四九三九，哎不对，是四九二九，四零六九"
    -> 13849294069). room: how many digits the number still lacks, when known."""
    return "".join(_spoken_groups(text, room))


def restated(text: str, length: int) -> str | None:
    """The whole number said again in one run ("哦后面是27，完整的是510722196109041927",
    "不对，最后是九三七，幺三两幺四五八洞九三七"): the last group of exactly `length` digits. It
    stands for the number, whatever pieces or corrections were said before it."""
    return next((g for g in reversed(_spoken_groups(text)) if len(g) == length), None)


def _spoken_groups(text: str, room: int | None = None) -> list[str]:
    # 一 in words is not a digit ("等一下", "一个", "说一遍")
    text = re.sub(r"一(?=[下个点遍位样些起直定共天次会声边块])", "", text or "")
    # A lone numeral between words is a word, not a digit ("等一歇", "寻一寻", "多少钱一年"): digits
    # of a number come in runs, or alone as the whole answer.
    text = _LONE_NUMERAL.sub("", _DATE.sub("", text))
    pieces = _SAID_WRONG.split(text)
    groups = _groups(pieces[0], room)
    for after in pieces[1:]:
        new = _groups(after)
        if not new:
            continue
        if groups and len(new) > 1 and new[0] == groups[0] and len("".join(new)) >= len("".join(groups)):
            groups = new   # "幺八六四五 洞三两 九幺七 哎呀不对 是幺八六四五 洞三两 九拐幺": all of it again
            continue
        groups[-1:] = new[:1]
        groups += new[1:]
    return groups


# "最后是六" / "最后一个是九" after the digits: the caller says the last digit once more (kept
# once), or puts it right.
_LAST_SAID = re.compile(r"^(?:最后|末尾)(?:一位|一个|那位|那个|个|位)?(?:数|数字)?(?:是|就是|应该是)")


def _groups(text: str, room: int | None = None) -> list[str]:
    """The digit groups of one stretch of speech. A group said again longer after a hesitation
    ("两九六……两九六九") was a restart: the longer one stands. room: digits the number still
    lacks; when the digits so far leave exactly one, "最后是个叉" says that one ("八拐幺 最后是个叉")."""
    groups: list[str] = []
    for clause in re.split(r"[，,。、；;\s]+", text):
        last = _LAST_SAID.match(clause)
        if last and groups:
            digit = to_digits(clause[last.end():])[:1]
            if digit and room is not None and sum(map(len, groups)) == room - 1:
                groups.append(digit)
            elif digit and groups[-1] and groups[-1][-1] != digit:
                groups[-1] = groups[-1][:-1] + digit
            continue
        said = [g for g in (to_digits(x) for x in re.split(r"…+|\.{3,}", clause)) if g]
        for g in said:
            if groups and len(g) > len(groups[-1]) and g.startswith(groups[-1]) and "…" in clause + "...":
                groups[-1] = g
            else:
                groups.append(g)
    return groups


class DigitBuffer:
    """Digits collected across turns until `length` are there ("幺幺零幺零五" ... "接着说").

    The state is the plain string `digits`, so it can live in a Rasa slot between turns.
    """

    def __init__(self, length: int, digits: str = ""):
        self.length = length
        self.digits = digits or ""

    def add(self, text: str) -> str:
        """Append the digits heard in `text`; returns the digits of this piece. The whole number
        said again in one run replaces what was collected (a restart or a correction)."""
        piece = spoken_digits(text, self.length - len(self.digits))
        # "四四幺五八幺，幺勾五拐洞勾两四，三三洞洞" after its first 14: all of it again, in groups
        whole = restated(text, self.length) or (piece if self.digits and len(piece) == self.length else None)
        if whole:
            self.digits = whole
            return whole
        self.digits += piece
        return piece

    @property
    def missing(self) -> int:
        return max(0, self.length - len(self.digits))

    @property
    def too_long(self) -> bool:
        return len(self.digits) > self.length

    @property
    def complete(self) -> bool:
        return len(self.digits) == self.length


def read_digits(number: str, groups: tuple[int, ...] | None = None, voice: bool = True) -> str:
    """'13812345678' -> '幺三八，幺二三四，五六七八' (groups 3-4-4); one spoken digit each."""
    table = _READ_VOICE if voice else _READ_TEXT
    number = (number or "").upper()
    parts, i = [], 0
    for size in groups or (len(number),):
        if i >= len(number):
            break
        parts.append(number[i:i + size])
        i += size
    if i < len(number):
        parts.append(number[i:])
    return "，".join("".join(table.get(ch, ch) for ch in part) for part in parts)


def read_id(number: str, voice: bool = True) -> str:
    return read_digits(number, ID_GROUPS, voice)


def read_phone(number: str, voice: bool = True) -> str:
    return read_digits(number, PHONE_GROUPS, voice)
