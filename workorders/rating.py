"""好差评: five levels, accepted as keypad digits 1-5 or spoken/typed words.

Keypad: 1 非常满意, 2 满意, 3 基本满意, 4 不满意, 5 非常不满意 (the prompt reads them in this order).
The bottom two (不满意/非常不满意) reopen the order for rectification (整改, policy: 5 working days)
and make a callback mandatory before it can be archived (see lifecycle.plan "rate").
"""
from __future__ import annotations

import re

from workorders.model import BAD_LEVELS, RATING_LEVELS, SATISFIED_LEVELS, WorkOrderError

_DIGITS = {"1": 0, "2": 1, "3": 2, "4": 3, "5": 4,
           "一": 0, "幺": 0, "二": 1, "两": 1, "三": 2, "四": 3, "五": 4}

# Checked in order: longer / negated phrases first.
_WORDS: list[tuple[tuple[str, ...], str]] = [
    (("非常不满意", "很不满意", "特别不满意", "十分不满意", "极不满意", "太不满意", "非常差", "很差"), "非常不满意"),
    (("不满意", "不太满意", "不怎么满意", "差评", "不好", "不行"), "不满意"),
    (("基本满意", "还行", "还可以", "一般", "凑合", "马马虎虎", "过得去"), "基本满意"),
    (("非常满意", "很满意", "特别满意", "十分满意", "非常好", "太好了"), "非常满意"),
    (("满意", "好评", "挺好", "不错", "可以"), "满意"),
]


def normalize_level(value) -> str:
    """Map 1-5, 一..五 or words to one of RATING_LEVELS; raise a 400 WorkOrderError otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    text = re.sub(r"[\s，。,.!！?？、]", "", str(value or ""))
    if text in RATING_LEVELS:
        return text
    for words, level in _WORDS:
        if any(w in text for w in words):
            return level
    bare = text.replace("分", "").replace("星", "").replace("按", "").replace("键", "")
    if len(bare) == 1 and bare in _DIGITS:
        return RATING_LEVELS[_DIGITS[bare]]
    raise WorkOrderError("bad_rating", "评价请按1到5：1非常满意，2满意，3基本满意，4不满意，5非常不满意。", 400)


def is_bad(level: str) -> bool:
    return level in BAD_LEVELS


def is_satisfied(level: str) -> bool:
    return level in SATISFIED_LEVELS
