"""What happened, in the resident's words, and which sibling matter that calls for.

bot/catalogue/situations.yaml lists situations (lost, worn, moved, ended, first, changed):
the words residents say for each, and the marks in an official matter name that fit it.
`fitting(text, name)` tells whether a matter's name fits a situation said in the text; the
matter ranking (bot/nlu/matter.py) prefers such a matter among close siblings.
"""
from __future__ import annotations

from functools import lru_cache

import yaml

from catalogue.loader import CATALOGUE_DIR

PATH = CATALOGUE_DIR / "situations.yaml"


@lru_cache(maxsize=1)
def situations() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Situation -> (words said, name marks)."""
    if not PATH.exists():
        return {}
    data = yaml.safe_load(PATH.read_text(encoding="utf-8")) or {}
    return {name: (tuple(s.get("says") or ()), tuple(s.get("marks") or ()))
            for name, s in (data.get("situations") or {}).items()}


def said(text: str) -> tuple[str, ...]:
    """The situations whose words are in the text."""
    return tuple(name for name, (says, _marks) in situations().items() if any(w in text for w in says))


def fitting(situations_said: tuple[str, ...], name: str) -> bool:
    """True when the official name carries a mark of one of the situations said."""
    table = situations()
    return any(m in name for s in situations_said for m in table[s][1])


def siblings(a: dict, b: dict) -> bool:
    """True when two matters concern one document or business: one lists the other as
    related, or their names share a two-character word once the situation marks are
    taken out (居民身份证补领 / 居民身份证换领, not 居民身份证换领 / 普通护照申领)."""
    if a["id"] == b["id"] or b["id"] in (a.get("related") or ()) or a["id"] in (b.get("related") or ()):
        return True
    if a["id"].split(".")[0] != b["id"].split(".")[0]:
        return False
    marks = {m for _says, ms in situations().values() for m in ms} | {"申领", "登记", "申请", "办理"}

    def bigrams(name: str) -> set[str]:
        for m in marks:
            name = name.replace(m, " ")
        return {name[i:i + 2] for i in range(len(name) - 1) if " " not in name[i:i + 2]}

    return bool(bigrams(a["name"]) & bigrams(b["name"]))
