"""The semantic half of emergency detection: the caller's sentence compared with labelled
sentences (safety/examples.tsv) by multilingual-e5-small embeddings (catalogue/semantic.py
shares the engine and the per-message query vector).

Rules (safety/emergency.py) decide what they recognise. When they find nothing, `suspect(text)`
looks at the K most similar labelled sentences: when at least VOTES of them are emergencies
with similarity ≥ MIN_SIMILARITY, it returns the most frequent kind and the nearest example
(shown to staff as the reason). The bot does not assert an emergency on this alone: it asks
("如果现在有人……，请马上打120"), then the conversation goes on.

Cache: $GOVDESK_DATA_DIR/cache/safety-e5-<sha256 of model id + examples, 16 hex>.npz
(`vectors`, float32, L2-normalised; labels are re-read from the TSV).
"""
from __future__ import annotations

import csv
import hashlib
import threading
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from common.settings import DATA_DIR

EXAMPLES = Path(__file__).with_name("examples.tsv")
K, VOTES, MIN_SIMILARITY = 7, 5, 0.9   # chosen by 5-fold cross-validation on the dev split
_lock = threading.Lock()


@dataclass(frozen=True)
class Suspicion:
    kind: str
    nearest: str
    similarity: float


@lru_cache(maxsize=1)
def _examples() -> tuple[tuple[str, ...], tuple[str, ...]]:
    with open(EXAMPLES, encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader((line for line in fh if not line.startswith("#")), delimiter="\t")]
    return tuple(r["utterance"] for r in rows), tuple(r["kind"] for r in rows)


_vectors: np.ndarray | None = None


def vectors() -> np.ndarray | None:
    """The examples' vectors (built once, cached on disk), or None without the engine."""
    global _vectors
    from catalogue import semantic

    if not semantic.available():
        return None
    with _lock:
        if _vectors is not None:
            return _vectors
        texts, _ = _examples()
        key = hashlib.sha256("\n".join([semantic.MODEL_ID, *texts]).encode()).hexdigest()[:16]
        path = DATA_DIR / "cache" / f"safety-e5-{key}.npz"
        if path.exists():
            _vectors = np.load(path)["vectors"]
        else:
            _vectors = np.vstack([semantic.embed_queries(list(texts[i:i + 64])) for i in range(0, len(texts), 64)])
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, vectors=_vectors)
            tmp.replace(path)
        return _vectors


def suspect(text: str) -> Suspicion | None:
    """A likely emergency the rules did not name, or None."""
    from catalogue import semantic

    mat = vectors()
    if mat is None or not text or len(text.strip()) < 4:
        return None
    q = semantic.embed_query(text)
    sims = mat @ q
    nearest = np.argsort(-sims)[:K]
    texts, kinds = _examples()
    votes = [kinds[i] for i in nearest if kinds[i] != "none" and sims[i] >= MIN_SIMILARITY]
    if len(votes) < VOTES:
        return None
    kind = Counter(votes).most_common(1)[0][0]
    best = next(i for i in nearest if kinds[i] == kind)
    return Suspicion(kind=kind, nearest=texts[best], similarity=round(float(sims[best]), 3))
