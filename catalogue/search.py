"""Find matters from how people really talk: lexical + fuzzy-pinyin search.

No Chinese sentence-embedding model can be had offline here, so matching is
lexical, made robust by features on two levels:

- characters: bigrams (and unigrams, weak) of the official name and every alias;
- sound: bigrams/unigrams of accent-merged toneless pinyin (textnorm.pinyin), so
  ASR homophones (地宝 -> 低保) and accents (高龄今天 -> 高龄津贴) still match.

Features are IDF-weighted over matters.  A matter's score mixes (a) how much of its
best alias the query covers, (b) how much of the query's known content the
matter's names explain, and (c) a bonus when a whole alias occurs in the query.
Filler words (我想/怎么/咋/那个/了/吗 ...) split the query into segments; n-grams
never cross a segment border.  The index is built once per catalogue, lazily.
"""
from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from catalogue.loader import Catalogue, load_catalogue
from textnorm.pinyin import fuzzy_syllables

# Longest first; single characters only where they are never content in a matter name.
FILLERS = sorted({
    "请问一下", "请问", "我想问一下", "我想问问", "想问一下", "想问问", "问一下", "问问", "想问",
    "你好", "您好", "同志", "喂",
    "我想要", "我想", "我要", "想要", "俺想", "俺要", "俺们", "俺家", "俺", "我们", "咱们", "咱",
    "我家", "我", "你们", "你", "您", "帮我", "给我", "帮忙", "麻烦",
    "怎么样", "怎么办理", "怎么办", "怎么弄", "怎么搞", "怎么整", "怎么", "怎样", "如何",
    "咋个", "咋办", "咋弄", "咋整", "咋搞", "咋", "啷个", "么样", "哪个", "哪样",
    "什么", "啥子", "啥", "么子",
    "那个", "这个", "就是", "一下", "能不能", "可不可以", "是不是", "有没有", "可以吗", "行不行",
    # aspect words: what people ask about a matter, not which matter
    "要带些啥", "要带什么", "要带啥", "带什么", "带啥", "需要", "要准备", "多少钱", "花多少钱", "收不收钱",
    "要钱不", "要钱", "收钱", "在哪里", "在哪儿", "在哪", "去哪里", "去哪儿", "去哪", "哪里", "多久",
    "多长时间", "几天", "可以", "行不行", "能", "不能",
    "吗", "呢", "呀", "啊", "吧", "嘛", "哦", "哈", "嘞", "咧", "噻", "了", "的", "得",
}, key=len, reverse=True)
_FILLER_RE = re.compile("|".join(re.escape(f) for f in FILLERS))
_SPLIT_RE = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+")

# Feature kinds and their weights: exact characters count more than sounds.
W_C2, W_C1, W_P2, W_P1 = 1.0, 0.3, 0.8, 0.2
ALIAS_W, COVER_W, CONTAIN_BONUS = 0.45, 0.55, 0.12
_MAX_RAW = ALIAS_W * (1.0 + CONTAIN_BONUS) + COVER_W   # whole alias in query, query fully explained
ACCEPT_SCORE_HINT = 0.5   # below this a hit is a guess, not "the matter meant"
CLARIFY_GAP = 0.1
CLARIFY_MIN = 0.35

_DIGITS = "零一二三四五六七八九"


def _cn_number(n: int) -> str:
    """Chinese reading of 0..9999 (80 -> 八十, 16 -> 十六, 105 -> 一百零五)."""
    if n < 10:
        return _DIGITS[n]
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d:
            if zero:
                out += "零"
            out += ("" if (unit == "十" and d == 1 and n < 20) else _DIGITS[d]) + unit
            zero = False
        elif out:
            zero = True
    return out


def normalize(text: str) -> str:
    """NFKC, lower case, small numbers as Chinese words (so 80岁 == 八十岁)."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return re.sub(r"[0-9]{1,4}", lambda m: _cn_number(int(m.group())), text)


def segments(text: str) -> list[str]:
    """Content pieces of the text: punctuation and filler words are borders."""
    out = []
    for part in _SPLIT_RE.split(normalize(text)):
        out += [s for s in _FILLER_RE.split(part) if s]
    return out


def features(text: str) -> dict[str, float]:
    """Feature -> kind weight for one text (IDF applied later)."""
    feats: dict[str, float] = {}
    for seg in segments(text):
        py = fuzzy_syllables(seg)
        for i, ch in enumerate(seg):
            feats["c1:" + ch] = W_C1
            if i + 1 < len(seg):
                feats["c2:" + seg[i:i + 2]] = W_C2
        for i, syl in enumerate(py):
            feats["p1:" + syl] = W_P1
            if i + 1 < len(py):
                feats["p2:" + syl + " " + py[i + 1]] = W_P2
    return feats


@dataclass(frozen=True)
class Hit:
    matter_id: str
    name: str
    score: float
    matched: str

    def as_dict(self) -> dict:
        return {"matter_id": self.matter_id, "name": self.name, "score": round(self.score, 3),
                "matched": self.matched}


class Index:
    """Inverted index over official names and aliases of one catalogue."""

    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue
        self.surfaces: list[tuple[str, str, str]] = []   # (matter id, surface, joined content)
        self.alias_feats: list[dict[str, float]] = []
        self.alias_norm: list[float] = []
        self.matter_feats: dict[str, set[str]] = defaultdict(set)
        postings: dict[str, list[int]] = defaultdict(list)
        for m in catalogue.matters:
            seen = set()
            for surface in [m["name"], *m["aliases"]]:
                content = "".join(segments(surface))
                if not content or content in seen:
                    continue
                seen.add(content)
                idx = len(self.surfaces)
                self.surfaces.append((m["id"], surface, content))
                feats = features(surface)
                self.alias_feats.append(feats)
                for f in feats:
                    postings[f].append(idx)
                    self.matter_feats[m["id"]].add(f)
        n = max(1, len(catalogue.matters))
        df: dict[str, int] = defaultdict(int)
        for feats in self.matter_feats.values():
            for f in feats:
                df[f] += 1
        self.idf = {f: math.log(1.0 + n / d) for f, d in df.items()}
        self.postings = dict(postings)
        self.unknown_idf = 0.5 * math.log(1.0 + n)
        self.alias_norm = [sum(w * self.idf[f] for f, w in feats.items()) or 1.0
                           for feats in self.alias_feats]
        # Per feature: the surfaces having it with their weight share, and the matters having it,
        # as arrays: a query sums its own features' postings with numpy (hot path, every turn).
        self.matter_ids = [m["id"] for m in catalogue.matters]
        position = {mid: i for i, mid in enumerate(self.matter_ids)}
        self.surface_owner = np.asarray([position[mid] for mid, _s, _c in self.surfaces], dtype=np.int64)
        owners = self.surface_owner
        self.owner_starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]]) if len(owners) else owners
        self.posting_arrays = {f: (np.asarray(idxs, dtype=np.int64),
                                   np.asarray([self.alias_feats[i][f] * self.idf[f] / self.alias_norm[i] for i in idxs]))
                               for f, idxs in self.postings.items()}
        self.matter_posting_arrays = {f: np.asarray(sorted({int(owners[i]) for i in idxs}), dtype=np.int64)
                                      for f, idxs in self.postings.items()}

    def search(self, query: str, top_k: int = 5) -> list[Hit]:
        if len("".join(segments(query))) < 2:
            return []   # one content character ("要", "办") names no matter
        raw = features(query)
        qfeats = {f: w * self.idf[f] for f, w in raw.items() if f in self.idf}
        if not qfeats:
            return []
        qcontent = "".join(segments(query))
        # Words no alias knows still count (half weight) in what the query says.
        qtotal = sum(qfeats.values()) + sum(w * self.unknown_idf for f, w in raw.items() if f not in self.idf)
        feats = list(qfeats)
        alias_score = np.bincount(np.concatenate([self.posting_arrays[f][0] for f in feats]),
                                  weights=np.concatenate([self.posting_arrays[f][1] for f in feats]),
                                  minlength=len(self.surfaces))
        for idx in np.flatnonzero(alias_score):
            content = self.surfaces[idx][2]
            if content in qcontent:
                alias_score[idx] += CONTAIN_BONUS * min(1.0, len(content) / 4)
        n = len(self.matter_ids)
        best = np.zeros(n)
        best[self.surface_owner[self.owner_starts]] = np.maximum.reduceat(alias_score, self.owner_starts)
        covered = np.bincount(np.concatenate([self.matter_posting_arrays[f] for f in feats]),
                              weights=np.concatenate([np.full(len(self.matter_posting_arrays[f]), qfeats[f]) for f in feats]),
                              minlength=n)
        scores = np.round(np.minimum(1.0, (ALIAS_W * best + COVER_W * covered / qtotal) / _MAX_RAW), 4)
        hit = np.flatnonzero(best > 0)
        order = sorted(hit, key=lambda i: (-scores[i], self.matter_ids[i]))[:max(0, top_k)]
        out = []
        for i in order:
            mid = self.matter_ids[i]
            own = np.flatnonzero(self.surface_owner == i)
            idx = int(own[np.argmax(alias_score[own])])
            out.append(Hit(mid, self.catalogue.get(mid)["name"], float(scores[i]), self.surfaces[idx][1]))
        return out


_index_lock = threading.Lock()
_index: Index | None = None


def get_index(catalogue: Catalogue | None = None) -> Index:
    """The index of `catalogue` (default: the loaded catalogue), rebuilt when it changes."""
    global _index
    catalogue = catalogue or load_catalogue(strict=False)
    with _index_lock:
        if _index is None or _index.catalogue is not catalogue:
            _index = Index(catalogue)
        return _index


def search(query: str, top_k: int = 5, catalogue: Catalogue | None = None) -> list[Hit]:
    """Ranked matters for a resident's words; scores in 0..1, best first."""
    if not isinstance(query, str) or not query.strip():
        return []
    return get_index(catalogue).search(query[:200], top_k)


_VERBS = set("办补领申换开交查报上迁注登续转缴参买销挂认批")


def short_label(matter: dict) -> str:
    """How to name a matter in a question: its first alias, as an action ("办临时身份证")."""
    label = (matter.get("aliases") or [matter["name"]])[0]
    return label if _VERBS & set(label) else "办" + label


def clarify(hits: list[Hit], catalogue: Catalogue | None = None) -> str | None:
    """A short either/or question when the two best matters are too close to call."""
    if len(hits) < 2 or hits[0].score < CLARIFY_MIN:
        return None
    if hits[0].score - hits[1].score > CLARIFY_GAP:
        return None
    # "补办身份证" beats "办身份证" when both were said: the longer match is meant.
    first_said, second_said = ("".join(segments(h.matched)) for h in hits[:2])
    if second_said and second_said in first_said and first_said != second_said:
        return None
    catalogue = catalogue or load_catalogue(strict=False)
    first, second = catalogue.get(hits[0].matter_id), catalogue.get(hits[1].matter_id)
    if not first or not second:
        return None
    a, b = short_label(first), short_label(second)
    if a == b:
        a, b = first["name"], second["name"]
    return f"您是要{a}，还是{b}？"
