"""Understand a 12345 request: category, type, urgency, emotion, matter, department, place,
refusal and emergency hand-off.

    from workorders.classify import classify
    c = classify("柳树镇杨湾村停水两天了，一村人都没水吃")
    c.category, c.type, c.urgency, c.urgency_reasons, c.location, c.to_dict()

Hybrid by design:
- interpretable rules (workorders/classify_rules.py) for what must be explainable and
  precise: emergencies (110/119/120/122 are not work orders), refusals, urgency, emotion;
- a small statistical model for category and type: character 1-3-gram TF-IDF + linear SVM,
  trained at first use (~0.3 s) from the *train* split of bench/data/requests_labelled.tsv.
  A pretrained Chinese transformer would be the natural upgrade, but no Chinese model
  weights are available offline in this environment, so none is used.
- the service catalogue (catalogue.search, optional) for matter_id; the directory's
  gazetteer for the location.
"""
from __future__ import annotations

import csv
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workorders import classify_rules as R

CATEGORIES = ("政务类", "警务类", "咨询类", "意见建议类", "投诉类", "综治类")
TYPES = ("咨询", "求助", "投诉", "举报", "建议", "表扬")
URGENCIES = ("特急", "紧急", "一般")
EMOTIONS = ("平静", "焦虑", "愤怒")
EMERGENCY_NUMBERS = ("110", "119", "120", "122")

ROOT = Path(__file__).resolve().parent.parent
DATA_FILE = Path(os.environ.get("GOVDESK_CLASSIFY_DATA", ROOT / "bench" / "data" / "requests_labelled.tsv"))
MAX_TEXT = 2000

# catalogue.search score needed to attach a matter (chosen on the train split, see bench/bench_classify.py)
MATTER_MIN_SCORE = 0.55
MATTER_CATEGORIES = {"咨询类", "政务类", "投诉类", "意见建议类"}


@dataclass
class Classification:
    text: str
    category: str
    type: str
    urgency: str
    urgency_reasons: list[str] = field(default_factory=list)
    emotion: str = "平静"
    emotion_cues: list[str] = field(default_factory=list)
    matter_id: str | None = None
    matter_name: str | None = None
    matter_score: float | None = None
    department: str | None = None
    department_reason: str | None = None
    location: dict = field(default_factory=dict)
    refusal: dict | None = None
    emergency: str | None = None
    emergency_reason_zh: str | None = None
    confidence: dict = field(default_factory=dict)

    @property
    def is_work_order(self) -> bool:
        """False for emergencies (transfer to 110/119/120/122) and refusals."""
        return self.emergency is None and self.refusal is None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["is_work_order"] = self.is_work_order
        return d


# ------------------------------------------------------------------ labelled data and model


def read_labelled(path: Path | str = DATA_FILE) -> list[dict]:
    """Rows of the labelled TSV (comment lines start with '#')."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"labelled requests not found: {path}")
    with open(path, encoding="utf-8", newline="") as fh:
        lines = [ln for ln in fh if not ln.startswith("#")]
    rows = list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))
    for i, row in enumerate(rows, 1):
        if row.get("category") not in CATEGORIES or row.get("type") not in TYPES:
            raise ValueError(f"{path}: row {i} has a bad category/type: {row}")
        if row.get("urgency") not in URGENCIES or row.get("emotion") not in EMOTIONS:
            raise ValueError(f"{path}: row {i} has a bad urgency/emotion: {row}")
    return rows


class TextModel:
    """char 1-3-gram TF-IDF + one LinearSVC per field (category, type)."""

    FIELDS = ("category", "type")

    def __init__(self, rows: list[dict]):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

        if len(rows) < 20:
            raise ValueError(f"too few training rows ({len(rows)})")
        texts = [_normalise(r["text"]) for r in rows]
        self.vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1)
        X = self.vectorizer.fit_transform(texts)
        self.models = {}
        for f in self.FIELDS:
            m = LinearSVC(C=0.8, class_weight="balanced")
            m.fit(X, [r[f] for r in rows])
            self.models[f] = m
        self.n_train = len(rows)

    def predict(self, text: str) -> dict[str, tuple[str, float]]:
        X = self.vectorizer.transform([_normalise(text)])
        out = {}
        for f, m in self.models.items():
            scores = m.decision_function(X)[0]
            order = scores.argsort()[::-1]
            margin = float(scores[order[0]] - scores[order[1]]) if len(order) > 1 else 1.0
            out[f] = (str(m.classes_[order[0]]), margin)
        return out


_model_lock = threading.Lock()
_model: TextModel | None = None


def get_model() -> TextModel:
    """The category/type model, trained once per process from the train split."""
    global _model
    with _model_lock:
        if _model is None:
            rows = [r for r in read_labelled() if r.get("split", "train") == "train"]
            _model = TextModel(rows)
        return _model


def warm_up() -> None:
    """Train the model and build the catalogue index now rather than on the first call."""
    get_model()
    _search("身份证")
    _directory(None)


def _normalise(text: str) -> str:
    return "".join(text.split()).replace("，", ",").replace("。", ".")


# ------------------------------------------------------------------ optional collaborators

def _search(text: str):
    """catalogue.search(text, 3), or [] when the catalogue is absent/broken (matter_id stays None)."""
    try:
        from catalogue.search import search   # lazy: the catalogue is optional here
        from workorders.dispatch import get_catalogue
    except Exception:   # noqa: BLE001
        return []
    cat = get_catalogue()
    if cat is None:
        return []
    try:
        return search(text, 3, catalogue=cat)
    except Exception:   # noqa: BLE001 - degrade to no matter
        return []


def _directory(context: dict | None):
    if context and context.get("directory") is not None:
        return context["directory"]
    from workorders.directory import default_directory
    return default_directory()


# ------------------------------------------------------------------ entry point


def classify(text: str, context: dict | None = None) -> Classification:
    """Classify one request. `context` (optional): {"location": {village, township, county}} or those keys
    at top level (e.g. the caller's registered township), "directory": a Directory to locate against."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    if context is not None and not isinstance(context, dict):
        raise TypeError(f"context must be a dict or None, got {type(context).__name__}")
    text = text.strip()[:MAX_TEXT]
    if not text:
        raise ValueError("text is empty: nothing to classify")

    pred = get_model().predict(text)
    category, cat_margin = pred["category"]
    req_type, type_margin = pred["type"]
    emo, cues = R.emotion(text)
    emerg = R.emergency(text)
    refusal = None if emerg else R.refusal(text)
    if refusal is not None:
        refusal = {"code": refusal["code"], "reason_zh": refusal["reason_zh"]}
    urg, urg_reasons = R.urgency(text, emo, emerg is not None)
    if emerg and emo == "平静":
        emo = "焦虑"

    c = Classification(text=text, category=category, type=req_type, urgency=urg, urgency_reasons=urg_reasons,
                       emotion=emo, emotion_cues=cues, refusal=refusal,
                       emergency=emerg[0] if emerg else None, emergency_reason_zh=emerg[1] if emerg else None,
                       confidence={"category": round(cat_margin, 3), "type": round(type_margin, 3)})

    if c.is_work_order and category in MATTER_CATEGORIES:
        hits = _search(text)
        if hits and hits[0].score >= MATTER_MIN_SCORE:
            c.matter_id, c.matter_name, c.matter_score = hits[0].matter_id, hits[0].name, float(hits[0].score)

    from workorders.dispatch import catalogue_department, match_departments
    if c.matter_id:
        c.department = catalogue_department(c.matter_id.split(".", 1)[0])
        c.department_reason = f"事项“{c.matter_name}”"
    else:
        rule = match_departments(text)
        if rule is not None:
            c.department, c.department_reason = rule.lead, rule.reason_zh
    try:
        c.location = _directory(context).locate(text, context)
    except Exception as exc:   # noqa: BLE001 - a broken directory must not stop intake
        c.location = {"village": None, "township": None, "county": None, "error": str(exc)}
    return c


__all__ = ["Classification", "classify", "read_labelled", "get_model", "warm_up", "CATEGORIES", "TYPES",
           "URGENCIES", "EMOTIONS", "EMERGENCY_NUMBERS"]
