"""A small learned reader of dialogue acts and emergencies, a second opinion behind the exact rules.

The rules (bot/nlu/acts.yaml, safety/emergencies.yaml) were written from the rounds of labelled
sentences they were tuned on; on a new writer's sentences they answer far fewer (round 5: acts
58 % covered, emergencies 70 %). This reader is trained on every published round of
bench/data/understanding (dialogue acts; emergencies labelled by the number to ring, "E119";
near-misses, matter requests and the bot's own non-act NLU examples as "none"): character 1-3-gram TF-IDF into a multinomial
logistic regression (lbfgs, deterministic: the same data gives the same model on every machine).
Characters rather than sentence embeddings: measured by cross-validation by round (train on the
other rounds, test on the one left out), characters read dialect and recogniser slips better
(bot/nlu/README.md, "The learned reader, measured on rounds it did not see").

`read(text)` -> Reading(label, probability). Used by bot/nlu/emergency.py: the "如果现在…请马上打…"
question when the rules find no emergency and the reader is sure of one, and the same question
instead of the emergency answer when the reader is sure the rules' emergency is an ordinary
request. The reader never asserts an emergency on its own.
Its acts are used where the rules find none (bot/nlu/acts.py `learned_act`: sure, and not words
a form could be waiting for), and inside a form by the front door only when the words do not
answer the question asked (bot/actions/forms.py). Answers inside forms (names, relations, places,
numbers read out: `form_answers`) are trained as "none", so 黄有福 is not thanks.

Cache: $GOVDESK_DATA_DIR/cache/learned-<sha256 of scikit-learn's version, the settings and the
training rows, 16 hex>.pkl
(trained in a few seconds when missing; `bot.training.warm_caches` builds it before Rasa starts).
In memory: the last READ_CACHE readings, keyed by (model, text): the act rules and the safety
gate read the same message once.
"""
from __future__ import annotations

import csv
import hashlib
import pickle
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from common.settings import DATA_DIR, ROOT

# Every published round of labelled sentences (the newest unpublished round is never here).
DATA = ROOT / "bench" / "data" / "understanding"
NONE = "none"
EMERGENCY_PREFIX = "E"
# Chosen by cross-validation by round (see the module doc); C is the usual inverse regularisation.
NGRAMS, MIN_DF, C = (1, 3), 2, 10.0
# Splits left out of training. The product never trains on "heldout", the newest round (written
# after all tuning, measured once); bench/bench_understanding.py sets the splits it measures, so no
# figure is ever read on sentences the reader was trained on.
HOLD_OUT: frozenset[str] = frozenset({"heldout"})
_lock = threading.Lock()
_model = None


@dataclass(frozen=True)
class Reading:
    label: str          # an act intent, "E110"/"E119"/"E120"/"E122", or "none"
    probability: float

    @property
    def number(self) -> str | None:
        """The number to ring when the reading is an emergency."""
        return self.label[len(EMERGENCY_PREFIX):] if self.label.startswith(EMERGENCY_PREFIX) else None

    @property
    def act(self) -> str | None:
        return None if self.label == NONE or self.number else self.label


def training_rows() -> list[tuple[str, str]]:
    """(utterance, label) for every labelled sentence; empty without the data.

    Besides the rounds, the bot's own NLU examples (bot/data): answers inside forms (names,
    relations, places, numbers) and questions about matters are "none", acts keep their act.
    Without them the reader took "我妈" for an emergency and "谢凤珍" for thanks."""
    label_of = {"dialogue_acts": lambda r: r["act"], "emergencies": lambda r: EMERGENCY_PREFIX + r["number"],
                "near_misses": lambda r: NONE, "matters": lambda r: NONE}
    out, held = [], set()
    for name, label in label_of.items():
        path = DATA / f"{name}.tsv"
        if not path.exists():
            continue
        with open(path, encoding="utf-8") as fh:
            for r in csv.DictReader(fh, delimiter="\t"):
                if not r.get("utterance"):
                    continue
                if r.get("split") in HOLD_OUT:
                    held.add(r["utterance"])
                else:
                    out.append((r["utterance"], label(r)))
    if out:
        acts = {label for _, label in out if label != NONE and not label.startswith(EMERGENCY_PREFIX)}
        out += [(t, i if i in acts else NONE) for t, i in bot_examples()
                if t not in held and not i.startswith("emergency") and not t.startswith("/")]
        out += [(t, NONE) for t in form_answers()]
    return out


def form_answers(count: int = 120) -> list[str]:
    """Answers a caller gives inside a form, built from the bot's own vocabularies: names (with
    the way callers spell a surname, 弓长张), relations (给我老汉办的), places of the directory,
    numbers read out digit by digit. None is an act: without them the reader took 黄有福 or
    谢凤珍 for thanks and a read-out number for a repeat request. Seeded, so every machine builds
    the same rows."""
    import random

    from textnorm.answers import _RELATIONS, _SELF
    from textnorm.phone import CHAR_DESCRIPTIONS, NAME_PARTS
    from workorders.directory import default_directory

    rnd = random.Random(11)
    spelled = {ch: desc for desc, ch in NAME_PARTS.items() if len(desc) > 1}
    surnames, given = sorted(spelled), sorted(CHAR_DESCRIPTIONS)
    names = ["".join([rnd.choice(surnames)] + rnd.sample(given, rnd.choice((1, 2)))) for _ in range(count)]
    forms = ("{n}", "叫{n}", "他叫{n}", "我叫{n}", "名字是{n}", "{n}，{d}", "俺叫{n}，{d}的{s}", "{n}，{all}",
             "{n} {all}")
    out = [rnd.choice(forms).format(n=n, d=spelled[n[0]], s=n[0], all="，".join(
        spelled[n[0]] if i == 0 else CHAR_DESCRIPTIONS[c] for i, c in enumerate(n))) for n in names]
    words = sorted({w for _, ws in _RELATIONS for w in ws} | set(_SELF))
    out += [rnd.choice(("{w}", "给{w}办的", "我{w}", "是{w}的", "帮{w}问的")).format(w=w) for w in words]
    d = default_directory()
    towns, villages = d.places("township"), d.places("village")
    out += [rnd.choice(("{t}{v}", "{v}", "住{t}{v}", "{t}的{v}", "我是{v}的")).format(t=rnd.choice(towns).name, v=v.name)
            for v in villages for _ in range(2)]
    digits = "零幺一二两三四五六七八九洞拐勾"
    out += ["".join(rnd.choice(digits) for _ in range(rnd.choice((4, 6, 7, 8, 11)))) + rnd.choice(("", "叉"))
            for _ in range(count)]
    return out


_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def bot_examples() -> list[tuple[str, str]]:
    """(example, intent) of the bot's NLU training data (bot/data/**/*.yml)."""
    out = []
    for path in sorted((ROOT / "bot" / "data").rglob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("nlu") or []:
            if "intent" in item:
                out += [(_ANNOTATION.sub(r"\1", line[2:].strip()), item["intent"])
                        for line in str(item.get("examples") or "").splitlines() if line.startswith("- ")]
    return out


def _text(t: str) -> str:
    return unicodedata.normalize("NFKC", t or "").lower()


def train(rows: list[tuple[str, str]]):
    """(vectoriser, classifier) fitted on rows."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(analyzer="char", ngram_range=NGRAMS, sublinear_tf=True, min_df=MIN_DF)
    x = vec.fit_transform([_text(t) for t, _ in rows])
    clf = LogisticRegression(C=C, max_iter=3000).fit(x, [label for _, label in rows])
    return vec, clf


def model():
    """The trained reader (cached in memory and on disk), or None without training data."""
    global _model
    with _lock:
        if _model is not None:
            return _model or None
        rows = training_rows()
        if not rows:
            _model = False
            return None
        import sklearn

        # The library version too: a pickle is only read back by the version that wrote it.
        key = hashlib.sha256(repr((sklearn.__version__, NGRAMS, MIN_DF, C, rows)).encode()).hexdigest()[:16]
        path = Path(DATA_DIR) / "cache" / f"learned-{key}.pkl"
        if path.exists():
            with open(path, "rb") as fh:
                _model = pickle.load(fh)
        else:
            _model = train(rows)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            with open(tmp, "wb") as fh:
                pickle.dump(_model, fh)
            tmp.replace(path)
        # Scores are X @ coef_.T: scipy copies a transposed C-order coef_ (every class x every
        # n-gram) on each read. Column-major, it reads the same numbers in the same order, no copy.
        _model[1].coef_ = np.asfortranarray(_model[1].coef_)
        return _model


def read(text: str) -> Reading | None:
    """The most likely label of `text` and its probability, or None without a model."""
    m = model()
    if m is None or not text or text.startswith("/"):
        return None
    return _read(m, text)


# The acts and the safety gate read the same message: one reading per (model, text), for the
# last READ_CACHE texts (the model is part of the key: the bench trains its own).
READ_CACHE = 256


@lru_cache(maxsize=READ_CACHE)
def _read(m, text: str) -> Reading:
    vec, clf = m
    probs = clf.predict_proba(vec.transform([_text(text)]))[0]
    best = int(probs.argmax())
    return Reading(str(clf.classes_[best]), round(float(probs[best]), 4))
