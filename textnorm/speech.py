"""Text shaped for the ear: one fact per sentence, sentences of at most MAX_CHARS characters.

    shape_for_voice("补办要本人去户籍所在地或全国任一公安派出所户籍窗口，要本人到场照相、按指纹，丢失补领40元。")
    -> "补办要本人去户籍所在地或全国任一公安派出所户籍窗口。要本人到场照相、按指纹。丢失补领40元。"

A sentence longer than MAX_CHARS (SLOW_MAX_CHARS once the caller asked for slower speech) is cut at its commas (，；), then at 、 when a clause is still
too long; each piece becomes a sentence of its own. Questions keep their question mark.
Length is what is spoken: spaces (TTS pauses between read-out digits, "幺 二 三") do not count.
Pure function: used by the REST channel for voice calls (connectors/resilient_rest.py).
"""
from __future__ import annotations

import re

MAX_CHARS = 40
SLOW_MAX_CHARS = 24     # after "说慢点": shorter sentences as well as a slower voice
_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?")


def spoken_len(text: str) -> int:
    """Characters said aloud: whitespace is a pause, not a character."""
    return len(re.sub(r"\s", "", text))


def _pieces(clause: str, sep: str, limit: int = MAX_CHARS) -> list[str]:
    parts = [p for p in clause.split(sep) if p]
    out: list[str] = []
    chunk = ""
    for p in parts:
        joined = f"{chunk}{sep}{p}" if chunk else p
        if chunk and spoken_len(joined) > limit - 2:
            out.append(chunk)
            chunk = p
        else:
            chunk = joined
    if chunk:
        out.append(chunk)
    return out


def voice_sentences(text: str, limit: int = MAX_CHARS) -> list[str]:
    out: list[str] = []
    for m in _SENTENCE.finditer(text or ""):
        s = m.group(0).strip()
        if not s:
            continue
        if spoken_len(s) <= limit:
            out.append(s)
            continue
        end = s[-1] if s[-1] in "。！？!?" else "。"
        body = s[:-1] if s[-1] in "。！？!?" else s
        clauses: list[str] = []
        for c in [c for c in re.split(r"，", body) if c]:   # one fact per sentence
            if clauses and len(c) < 5:      # "也可以不办" stays with its clause
                clauses[-1] += "，" + c
                continue
            for c2 in (_pieces(c, "；", limit) if spoken_len(c) > limit else [c]):
                clauses += _pieces(c2, "、", limit) if spoken_len(c2) > limit else [c2]
        for i, c in enumerate(clauses):
            out.append(c + (end if i == len(clauses) - 1 else "。"))
    return out


def shape_for_voice(text: str, slow: bool = False) -> str:
    return "".join(voice_sentences(text, SLOW_MAX_CHARS if slow else MAX_CHARS))
