"""Small parsers for form answers that need the bot's context: age, birth month, the place in the
directory. Yes/no, relations, ratings: textnorm/answers.py."""
from __future__ import annotations

import datetime as dt
import re

from textnorm.pinyin import fuzzy_syllables
from textnorm.spoken_numbers import normalize_width, small_number, to_digits
from workorders.directory import default_directory


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
    # "虚岁十一，周岁十岁": the full years said outright settle it
    full = re.search(r"周岁\s*(?:是|有)?\s*([0-9０-９]{1,3}|[一二两三四五六七八九十百零]{1,5})|"
                     r"([0-9０-９]{1,3}|[一二两三四五六七八九十百零]{1,5})\s*周岁", t)
    if full and "虚" in t:
        n = cn_int(full.group(1) or full.group(2))
        if n is not None and 0 < n <= 125:
            return n, None
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


_INDEX: dict[int, tuple] = {}


def _place_index(d) -> tuple[list, list]:
    """Built once per directory (not per caller turn): townships with the names callers use,
    villages with their names, stem and accent-merged syllables of the stem."""
    cached = _INDEX.get(id(d))
    if cached is not None and cached[0] is d:
        return cached[1], cached[2]
    towns = []
    for p in d.places("township"):
        names = {p.name, p.name[:-1]} if len(p.name) >= 3 else {p.name}
        if p.short and len(p.short) >= 2:
            names.add(p.short)
        towns.append((p, names))
    villages = []
    for p in d.places("village"):
        stem = p.name[:-1] if p.name.endswith("村") and len(p.name) >= 3 else p.name
        names = {n for n in (p.name, stem) if len(n) >= 2}
        villages.append((p, names, stem, tuple(fuzzy_syllables(stem))))
    _INDEX[id(d)] = (d, towns, villages)
    return towns, villages


def _loose(syllables) -> tuple:
    """Looser still, for a second try: hu- said as w- (黄/王), and 分/枫 (fen, feng) meeting, which the
    f/h fold keeps apart (fen -> hun, feng -> hong)."""
    out = []
    for s in syllables:
        s = {"hong": "hun"}.get(s, s)
        out.append("w" + s[2:] if s.startswith("hu") and len(s) > 2 else s)
    return tuple(out)


def _sounds_like_towns(text: str, town_index: list) -> list:
    """Townships whose name (without 镇/乡) sounds like a stretch of the text."""
    said = tuple(fuzzy_syllables(re.sub(r"[^\u4e00-\u9fff]", "", text)))
    found = []
    for p, _names in town_index:
        key = tuple(fuzzy_syllables(p.name[:-1] if len(p.name) >= 3 else p.name))
        n = len(key)
        # the township word itself must follow ("六树镇"), so a village "柳树村" is not its township
        if n >= 2 and any(said[i:i + n] == key for i in range(len(said) - n + 1)
                          if re.search(r"[镇乡]", text[i + n:i + n + 1] if len(text) == len(said) else "")):
            found.append(p)
    return found


def _sounds_like_villages(d, text: str, towns: list, loose: bool = False) -> list:
    """Villages whose name (without 村) sounds like a stretch of the text (toneless, accent-merged)."""
    said = tuple(fuzzy_syllables(re.sub(r"[^\u4e00-\u9fff]", "", text)))
    said = _loose(said) if loose else said
    town_ids = {t.id for t in towns}
    found = []
    for p, _names, stem, key in _place_index(d)[1]:
        if town_ids and p.parent_id not in town_ids:
            continue
        if any(t.name.startswith(stem) for t in towns):
            continue   # "大坪乡" is not 大坪村
        key = _loose(key) if loose else key
        n = len(key)
        if n >= 2 and any(said[i:i + n] == key for i in range(len(said) - n + 1)):
            found.append(p)
    return found


_DENIED_PLACE = re.compile(r"(?:不是|不在|唔系|唔喺|勿是|勿辣|没在|冇喺)[^，,。.!！?？；;\s是]*")


def resolve_place(text: str, village_hint: str | None = None) -> tuple[dict | None, list[dict]]:
    """(place, options): the place said, resolved in the directory to township + village.

    Short forms count (杨湾 / 柳树那边). A village name that exists in several townships
    without its township gives (None, options) so the caller is asked which; `village_hint`
    is that village while the caller answers "柳树镇的".
    """
    d = default_directory()
    # "柳树镇那个王家村，不是城关那个": a place denied is not the place said
    t = _DENIED_PLACE.sub("", normalize_width(text or ""))
    t = re.sub(r"[，。,.!！?？\s]", "", t)
    if village_hint and village_hint not in t:
        t = t + village_hint
    town_index, village_index = _place_index(d)
    towns = [p for p, names in town_index if any(n in t for n in names)]
    if not towns:   # "六树镇" / "大平乡": an ASR slip that sounds like a township
        towns = _sounds_like_towns(t, town_index)
    villages = [p for p, names, _stem, _key in village_index if any(n in t for n in names)]
    # a village name inside a township name ("柳树镇" holds 柳树村's short form) is the township's
    if towns:
        villages = [v for v in villages if v.name[:-1] not in [x.name[:-1] for x in towns] or v.name in t]
    town_ids = {x.id for x in towns}
    if towns:
        inside = [v for v in villages if v.parent_id in town_ids]
        if inside:
            villages = inside
    if village_hint:   # "柳树镇个王家村，靠马鞍山那头": the village asked about, the other one a landmark
        villages = [v for v in villages if v.name == village_hint] or villages
    if not villages:  # "城关镇和湾村": an ASR slip that sounds like a village (within the township said)
        villages = _sounds_like_villages(d, t, towns)
    if not villages:  # "王泥塘村": 黄 and 王 merge in many southern accents (hu- said as w-)
        villages = _sounds_like_villages(d, t, towns, loose=True)
    if len(villages) == 1:
        v = villages[0]
        town = d.place(v.parent_id)
        return {"township": town.name, "village": v.name, "county": d.place(town.parent_id).name}, []
    if len(villages) > 1:
        if len({v.name for v in villages}) == 1:
            options = [{"township": d.place(v.parent_id).name, "village": v.name} for v in villages]
            return None, options
        # the village said first ("马家集村，就集上十字路口那家"); at one place the longer name
        names = {p.id: n for p, n, _s, _k in village_index}
        villages.sort(key=lambda v: (min((t.find(n) for n in names.get(v.id, ()) if n in t), default=len(t)),
                                     -len(v.name)))
        v = villages[0]
        town = d.place(v.parent_id)
        return {"township": town.name, "village": v.name, "county": d.place(town.parent_id).name}, []
    if len(towns) == 1:
        return {"township": towns[0].name, "village": None, "county": d.place(towns[0].parent_id).name}, []
    return None, []
