"""好差评: five levels, accepted as keypad digits 1-5 or spoken/typed words.

Keypad: 1 非常满意, 2 满意, 3 基本满意, 4 不满意, 5 非常不满意 (the prompt reads them in this order).
The bottom two (不满意/非常不满意) reopen the order for rectification (整改, policy: 5 working days)
and make a callback mandatory before it can be archived (see lifecycle.plan "rate").
"""
from __future__ import annotations

import re

from textnorm import answers
from workorders.model import BAD_LEVELS, RATING_LEVELS, SATISFIED_LEVELS, WorkOrderError

def normalize_level(value) -> str:
    """Map 1-5, 一..五 or words to one of RATING_LEVELS; raise a 400 WorkOrderError otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    text = re.sub(r"[\s，。,.!！?？、]", "", str(value or ""))
    if text in RATING_LEVELS:
        return text
    level = answers.rating(text.replace("星", "分"))  # the one rating vocabulary (hedges count down)
    if level in RATING_LEVELS:
        return level
    raise WorkOrderError("bad_rating", "评价请按1到5：1非常满意，2满意，3基本满意，4不满意，5非常不满意。", 400)


def is_bad(level: str) -> bool:
    return level in BAD_LEVELS


def is_satisfied(level: str) -> bool:
    return level in SATISFIED_LEVELS
