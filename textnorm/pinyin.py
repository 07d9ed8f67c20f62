"""Toneless pinyin with the accent mergers of rural callers, for fuzzy matching.

ASR slips and regional accents turn 低保 into 地宝 and 津贴 into 今天.  Comparing
"fuzzy" syllables instead of characters makes those still match:

- initials: zh->z, ch->c, sh->s; l->n (n/l merge); r->l (so r, l, n all meet);
  f->h (fa/hua, fei/hui, fu/hu ... share one form, e.g. fu/hu -> hu)
- finals: ang->an, eng->en, ing->in, iang->ian, uang->uan (front/back nasal merge)

Public API (also used by the voice gateway): syllables, merge_accent, fuzzy_syllables,
fuzzy_key; SoundAlike repairs recognition slips of a list of key words (safety, dialogue acts).  Readings come per character (pypinyin's default reading), cached, so the
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


# Characters whose reading on their own (pypinyin's single-character default) is not the one
# callers say: 佛 alone reads fu (仿佛), said fo, the slip of 火 for an f/h speaker ("起佛了").
_USUAL_READING = {"佛": "fo"}


@lru_cache(maxsize=None)
def _char_syllable(ch: str) -> str:
    if ch in _USUAL_READING:
        return _USUAL_READING[ch]
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


@lru_cache(maxsize=1)
def _jieba():
    """One jieba dictionary for every SoundAlike (it takes a second and tens of MB to load)."""
    import jieba

    jieba.setLogLevel(60)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


class SoundAlike:
    """Repairs recognition slips of key words: a run of characters that reads like a key word
    (toneless pinyin; each character that differs by its usual reading, so "车和" is not
    "车祸" although 和 can be read huo; with `accent`, also under the accent mergers above),
    shares at least one character with it (a slip changes a character, rarely all of them:
    "或在" is not "火灾"), begins and ends where jieba's words do (a slip replaces a word:
    "那条河" holds no "跳河") and is not itself a common word (jieba dictionary frequency of at
    least `min_word_freq`, or listed in `not_slips`)."""

    def __init__(self, words, min_word_freq: int, not_slips=(), accent: bool = False):
        self.min_word_freq = min_word_freq
        self.not_slips = frozenset(not_slips)
        self.sound = merge_accent if accent else (lambda s: s)
        # Key words by the sound and by the character they start with.
        self.by_start: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for w in words:
            syl = tuple(self.sound(s) for s in lazy_pinyin(w, style=Style.NORMAL, v_to_u=False))
            for key in {syl[0], w[0]}:
                self.by_start.setdefault(key, []).append((w, syl))

    @staticmethod
    def load() -> None:
        """Load the dictionary now (components call this at start, not on a caller's turn)."""
        _jieba()

    def _common_word(self, word: str) -> bool:
        return word in self.not_slips or (_jieba().FREQ.get(word) or 0) >= self.min_word_freq

    def _sounds_like(self, window: str, word: str, syl: tuple[str, ...]) -> bool:
        return (len(window) == len(word) and window != word
                and any(a == b for a, b in zip(window, word))
                and all(a == b or self.sound(_char_syllable(a)) == s for a, b, s in zip(window, word, syl)))

    def repair(self, text: str) -> str:
        """`text` with every slip of a key word replaced by the key word."""
        if not any(ch in self.by_start or self.sound(_char_syllable(ch)) in self.by_start for ch in text):
            return text
        bounds = {0}
        for _w, start, end in _jieba().tokenize(text, HMM=False):
            bounds.update((start, end))
        out, i = [], 0
        while i < len(text):
            best = None
            if i in bounds:
                for word, syl in self.by_start.get(text[i], []) + self.by_start.get(self.sound(_char_syllable(text[i])), []):
                    window = text[i:i + len(word)]
                    if ((best is None or len(word) > len(best)) and i + len(word) in bounds
                            and self._sounds_like(window, word, syl) and not self._common_word(window)):
                        best = word
            if best:
                out.append(best)
                i += len(best)
            else:
                out.append(text[i])
                i += 1
        return "".join(out)
