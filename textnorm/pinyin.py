"""Toneless pinyin with the accent mergers of rural callers, for fuzzy matching.

ASR slips and regional accents turn 低保 into 地宝 and 津贴 into 今天.  Comparing
"fuzzy" syllables instead of characters makes those still match:

- initials: zh->z, ch->c, sh->s; l->n (n/l merge); r->l (so r, l, n all meet);
  f->h (fa/hua, fei/hui, fu/hu ... share one form, e.g. fu/hu -> hu)
- finals: ang->an, eng->en, ing->in, iang->ian, uang->uan (front/back nasal merge)

Public API (also used by the voice gateway): syllables, merge_accent, fuzzy_syllables,
fuzzy_key.  Readings come per character (pypinyin's default reading), cached, so the
same character always maps to the same syllable in the query and in the index.
"""
from __future__ import annotations

import re
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Runs of letters/digits stay whole tokens; whitespace and punctuation are dropped.
_TOKEN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[A-Za-z]+|[0-9]+")

# f-syllables and the h-syllables that southern speakers say for them.
_F_TO_H = {
    "fa": "hua", "fan": "huan", "fang": "huang", "fei": "hui", "fen": "hun",
    "feng": "hong", "fo": "huo", "fou": "hou", "fu": "hu",
}


@lru_cache(maxsize=None)
def _char_syllable(ch: str) -> str:
    out = lazy_pinyin(ch, style=Style.NORMAL, errors=lambda s: [s], v_to_u=False)
    return out[0] if out else ch


def _tokens(text: str) -> list[tuple[str, bool]]:
    """(token, is_chinese) for every character of Chinese and every ASCII word/number."""
    out = []
    for tok in _TOKEN_RE.findall(text or ""):
        if _HAN_RE.match(tok):
            out.append((_char_syllable(tok), True))
        else:
            out.append((tok.lower(), False))
    return out


def syllables(text: str) -> list[str]:
    """Toneless pinyin per Chinese character; ASCII words and digit runs kept as tokens."""
    return [tok for tok, _ in _tokens(text)]


@lru_cache(maxsize=4096)
def merge_accent(syllable: str) -> str:
    """Fold one toneless syllable onto its accent-merged form (see module doc)."""
    s = (syllable or "").lower()
    if not s.isalpha():
        return s
    s = _F_TO_H.get(s, s)
    if s.startswith(("zh", "ch", "sh")):
        s = s[0] + s[2:]
    elif s.startswith("r") and s != "r":
        s = "l" + s[1:]
    if s.startswith("l"):
        s = "n" + s[1:]
    if s.endswith("ng") and not s.endswith("ong") and len(s) > 2:
        s = s[:-1]
    return s


def fuzzy_syllables(text: str) -> list[str]:
    """Accent-merged syllables of the text (non-Chinese tokens unchanged)."""
    return [merge_accent(tok) if han else tok for tok, han in _tokens(text)]


def fuzzy_key(text: str) -> str:
    """Space-joined fuzzy syllables: equal keys sound alike to an accented ear."""
    return " ".join(fuzzy_syllables(text))
