"""Dialect and regional words put into standard Mandarin (textnorm/dialect.yaml), so rules that
read a caller's words (safety/emergency.py, bot/nlu/acts.py) are written once, in standard words:
"阿爷唔见咗" -> "阿爷不见了", "莫得" -> "没有", "侬讲啥" -> "你讲啥". Pure text, no I/O after load.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

DATA = Path(__file__).with_name("dialect.yaml")


@lru_cache(maxsize=1)
def _table() -> tuple[tuple[re.Pattern, str], ...]:
    data = yaml.safe_load(DATA.read_text(encoding="utf-8")) or {}
    return tuple((re.compile(pattern), std) for pattern, std in data.items())


def standard(text: str) -> str:
    """`text` with its dialect words replaced by standard ones, in the table's order."""
    for pattern, std in _table():
        text = pattern.sub(std, text)
    return text
