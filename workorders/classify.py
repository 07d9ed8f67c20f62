"""Understand a 12345 request: category, type, urgency, emotion, matter, department, place,
refusal and emergency hand-off.

    from workorders.classify import classify
    c = classify("柳树镇杨湾村停水两天了，一村人都没水吃")
    c.category, c.type, c.urgency, c.urgency_reasons, c.location, c.to_dict()

    c.reasons["urgency"], c.confidence, c.needs_review, c.review_reasons

Hybrid by design; the published rules staff read are in workorders/intake_rules.yaml
(国办发〔2020〕53号 scope of 咨询/求助/投诉/举报/建议, 国办发〔2022〕12号 split with 110,
urgency levels, type by what the caller wants, dialect words) and the patterns used below
come from that file:
- emergencies: safety.emergency.detect proposes, intake rules veto near-misses (proposals,
  pollution complaints, gas leaks without fire ...) and add in-progress crimes it misses
  (classify_rules.emergency_check); 110/119/120/122 calls are not work orders;
- refusals and emotion: rules (classify_rules);
- type: the type the caller names (我要投诉, 举报, 建议, 表扬, 想问一下) decides; asking an office
  to act is 求助 unless the caller blames it; otherwise the model with the type cues;
- type, urgency, department and (for 求助/举报) category: one linear SVM per field over
  character 1-3-gram + jieba word 1-2-gram TF-IDF + rule-cue tokens (department words, the
  unit the caller names, type cues, urgency rules, who-did-what), trained at first use (~2 s)
  on the rows of bench/data/intake/requests_*.tsv not marked heldout (+ requests_labelled.tsv train rows
  for type/category). Margins become probabilities by temperature scaling fitted on
  cross-validation; below REVIEW_BELOW the order is flagged needs_review ("不确定").
- the model sees place names masked (某地): the village says nothing about what the caller wants;
  a unit named as a place (学校门口) is no department cue (intake_rules.yaml landmark);
- department: the model, then a 表扬 naming one unit goes to that unit, then department_refine
  (units' responsibilities), the ownerless-hazard and police-crime rules;
- category follows type for 咨询/投诉/建议/表扬; for 求助/举报 it is 警务类 when 公安 handles,
  综治类 when the 综治中心 handles (disputes, group risks, a hazard no single department owns),
  综治类 for a 特急 hazard in public space asked for help (the owning unit still handles it; 政务类
  when the hazard is only in the caller's own home; a cut supply is the model's call), else the
  model decides 政务类/综治类
  (intake_rules.yaml 类别的读法, the hotline owner's decisions);
- urgency: a danger rule makes 特急 (recall first); a cut supply or wages owed is 紧急 (decisive);
  many affected make 紧急 unless the model is sure it is 一般; the model alone raises only when it is confident; the type
  caps it (咨询/建议/表扬 一般, 投诉 at most 紧急);
- the catalogue search (the slowest step) runs only when its matter is used;
- every field gets a short Chinese reason in `reasons` (the rule or the words that decided).
No pretrained Chinese model weights are available offline here, so none is used.
The service catalogue (catalogue.search, optional) gives matter_id; the directory's gazetteer
gives the location.
"""
from __future__ import annotations

import csv
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from common.settings import env_str
from workorders import classify_rules as R
from workorders.model import CATEGORIES, EMOTIONS, TYPES, URGENCIES

EMERGENCY_NUMBERS = ("110", "119", "120", "122")

ROOT = Path(__file__).resolve().parent.parent
DATA_FILE = Path(env_str("GOVDESK_CLASSIFY_DATA", str(ROOT / "bench" / "data" / "requests_labelled.tsv")))
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
    reasons: dict = field(default_factory=dict)
    needs_review: bool = False
    review_reasons: list[str] = field(default_factory=list)

    @property
    def is_work_order(self) -> bool:
        """False for emergencies (transfer to 110/119/120/122) and refusals."""
        return self.emergency is None and self.refusal is None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["is_work_order"] = self.is_work_order
        return d


# ------------------------------------------------------------------ labelled data and model

# every corpus in bench/data/intake; the held-out one (HELDOUT_CORPUS, written by someone who has
# not seen the rules) is scored by `bench_classify --split heldout` and never trained on
INTAKE_DIR = ROOT / "bench" / "data" / "intake"
# the held-out corpus is named by its file, so its rows stay out of training whatever their split
# column says (requests_a–k are tuning data; requests_k was the held-out corpus of round 11; requests_l,
# the next one, may not exist yet: read_intake skips a missing file)
HELDOUT_CORPUS = "requests_l"
INTAKE_FILES = tuple(Path(p) for p in env_str(
    "GOVDESK_INTAKE_DATA", os.pathsep.join(str(f) for f in sorted(INTAKE_DIR.glob("requests_*.tsv")))).split(os.pathsep) if p)
# department of the emergency service a transferred call would have reached (corpus convention)
EMERGENCY_DEPARTMENT = {"110": "gongan", "119": "yingji", "120": "weijian", "122": "gongan"}
TYPE_CATEGORY = {"咨询": "咨询类", "投诉": "投诉类", "建议": "意见建议类", "表扬": "意见建议类"}
# below these probabilities a decision is flagged for review (needs_review, "不确定")
REVIEW_BELOW = {"type": 0.6, "category": 0.6, "urgency": 0.6, "department": 0.5}


def _read_tsv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        lines = [ln for ln in fh if not ln.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


def read_labelled(path: Path | str = DATA_FILE) -> list[dict]:
    """Rows of the labelled TSV (comment lines start with '#')."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"labelled requests not found: {path}")
    rows = _read_tsv(path)
    for i, row in enumerate(rows, 1):
        if row.get("category") not in CATEGORIES or row.get("type") not in TYPES:
            raise ValueError(f"{path}: row {i} has a bad category/type: {row}")
        if row.get("urgency") not in URGENCIES or row.get("emotion") not in EMOTIONS:
            raise ValueError(f"{path}: row {i} has a bad urgency/emotion: {row}")
    return rows


def read_intake(paths: tuple[Path, ...] = INTAKE_FILES) -> list[dict]:
    """Rows of the intake corpora (text, category, type, urgency, department, township, village,
    emergency, split), each with `source` = file stem; every row of HELDOUT_CORPUS has split=heldout."""
    out = []
    for path in paths:
        if not path.exists():
            continue
        for i, row in enumerate(_read_tsv(path), 1):
            if row.get("category") not in CATEGORIES or row.get("type") not in TYPES \
                    or row.get("urgency") not in URGENCIES:
                raise ValueError(f"{path}: row {i} has a bad category/type/urgency: {row}")
            row["source"] = path.stem
            if path.stem == HELDOUT_CORPUS:
                row["split"] = "heldout"
            out.append(row)
    return out


def training_rows() -> list[dict]:
    """Training rows: the intake corpora except held-out rows (all fields) and requests_labelled.tsv (category and
    type only: it has no department, and its urgency labels predate the published rules)."""
    rows = [dict(r) for r in read_intake() if r.get("split") != "heldout" and not r.get("emergency")]
    try:
        old = read_labelled()
    except FileNotFoundError:
        old = []
    for r in old:
        if r.get("split", "train") == "train" and not r.get("emergency") and not r.get("refused"):
            rows.append({"text": r["text"], "category": r["category"], "type": r["type"], "urgency": "",
                         "department": "", "source": "requests_labelled"})
    return rows


_jieba_lock = threading.Lock()


def _words(text: str) -> list[str]:
    import jieba
    with _jieba_lock:
        return [w for w in jieba.lcut(text) if w.strip() and w not in "，。？！、：,.?!"]


_TF_ZH = {"org": "提到单位或工作人员", "blame": "指责没做好", "third": "提到他人", "violation": "违法违规行为",
          "org+blame": "指责单位或工作人员", "third+violation": "反映他人违法违规",
          "party": "两方群众", "conflict": "闹矛盾", "party+conflict": "群众之间的矛盾纠纷"}


def _feature_zh(name: str, text: str) -> str:
    """A rule-cue feature (#D:gongan ...) in words a dispatcher reads; '' if it is not to be shown."""
    kind, _, val = name[1:].partition(":")
    if kind == "D":
        words = R.department_cues(text).get(val) if text else None
        return f"{words}（{_dept_names().get(val, val)}）" if words else f"{_dept_names().get(val, val)}线索"
    if kind == "O":
        words = R.agency_cues(text).get(val) if text else None
        return f"点名“{words}”（{_dept_names().get(val, val)}）" if words else f"点名{_dept_names().get(val, val)}"
    if kind == "K":
        return f"派单规则（{_dept_names().get(val, val)}）"
    if kind == "T":
        cue = next((w for t, w, _ in R.type_cues(text) if t == val), None) if text else None
        return f"{cue}（{val}）" if cue else f"{val}用语"
    if kind == "U":
        rule = next((r for r in R.DANGER_RULES + R.URGENT_RULES if r.code == val), None)
        m = rule.search(text) if rule and text else None
        return f"{m.group(0)}（{rule.reason_zh}）" if m else (rule.reason_zh if rule else "")
    if kind == "N":
        return f"{R.not_now(text) or '建议或咨询'}（不是正在发生的问题）"
    if kind == "A":
        words = "、".join(R.type_features(text).get(k, "") for k in val.split("+")) if text else ""
        return f"{words}（{_TF_ZH.get(val, val)}）" if words.strip("、") else _TF_ZH.get(val, "")
    return ""


def _model_text(text: str) -> str:
    """Normalised text with place names replaced by 某地: which village called says nothing about
    what the caller wants, and names would let the model learn the corpus rather than the language.
    The caller checking they reached the line (喂，是热线吧) is masked the same way."""
    t = R.unaddressed(R.normalise(text))
    if not OPTIONS.get("mask_places"):
        return t
    try:
        from workorders.directory import default_directory
        found = default_directory().scan_places(t)
    except Exception:   # noqa: BLE001 - masking is an aid, not a requirement
        return t
    for name, _ in sorted(found, key=lambda f: -len(f[0])):
        t = t.replace(name, "某地")
    return t


CUE_REPEAT = 2   # rule cues (#D:department, #T:type, #U:urgency rule ...) count as this many words


# SVM margins -> probabilities: softmax(T * decision), temperature scaling. T per field minimises the
# negative log-likelihood of the true label on 5-fold cross-validation of the train rows (then the
# mean confidence matches the accuracy: type .89/.89, urgency .93/.92, department .84/.82).
SOFTMAX_T = {"type": 4.0, "urgency": 4.0, "category": 4.0, "department": 8.0}


class TextModel:
    """Character 1-3-gram + jieba word 1-2-gram + rule-cue TF-IDF, one linear SVM per field.

    type and urgency and department are trained on the intake corpora (department and urgency
    only there); category is trained on 求助/举报 rows only, since the published rules fix it
    for the other types (TYPE_CATEGORY). Probabilities come from the logistic regressions.
    """

    FIELDS = ("type", "category", "urgency", "department")

    def __init__(self, rows: list[dict], C: float = 1.0):
        import numpy as np
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

        if len(rows) < 20:
            raise ValueError(f"too few training rows ({len(rows)})")
        self._hstack, self._np = hstack, np
        texts = [_model_text(r["text"]) for r in rows]
        self.char = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1)
        self.word = TfidfVectorizer(analyzer=lambda s: s, sublinear_tf=True, min_df=1)
        Xc = self.char.fit_transform(texts)
        Xw = self.word.fit_transform([self._wordgrams(t) for t in texts])
        X = hstack([Xc, Xw]).tocsr()
        self.feature_names = np.concatenate([self.char.get_feature_names_out(),
                                             self.word.get_feature_names_out()])
        self.models = {}
        for f in self.FIELDS:
            idx = [i for i, r in enumerate(rows) if r.get(f)]
            if f == "category":
                idx = [i for i in idx if rows[i]["type"] not in TYPE_CATEGORY]
            if f in ("urgency", "department"):
                idx = [i for i in idx if rows[i].get("source") != "requests_labelled"]
            y = [rows[i][f] for i in idx]
            if len(set(y)) < 2:
                continue
            m = LinearSVC(C=C, class_weight="balanced")
            m.fit(X[idx], y)
            self.models[f] = m
        self.n_train = len(rows)
        self._idf = {id(self.char): self.char.idf_, id(self.word): self.word.idf_}   # the property rebuilds it per call

    @staticmethod
    def _wordgrams(text: str) -> list[str]:
        ws = _words(text)
        return ws + [a + "_" + b for a, b in zip(ws, ws[1:])] + R.cue_tokens(text) * CUE_REPEAT

    def _tfidf(self, vec, doc):
        """vec.transform([doc]) (sublinear tf, idf, l2 norm) with the idf vector kept, not rebuilt."""
        from sklearn.feature_extraction.text import CountVectorizer
        X = CountVectorizer.transform(vec, [doc]).astype(self._np.float64)
        X.data = self._np.log(X.data) + 1.0
        X.data *= self._idf[id(vec)][X.indices]
        n = self._np.sqrt((X.data ** 2).sum())
        if n > 0:
            X.data /= n
        return X

    def features(self, text: str):
        t = _model_text(text)
        return self._hstack([self._tfidf(self.char, t), self._tfidf(self.word, self._wordgrams(t))]).tocsr()

    def probabilities(self, X, field: str) -> dict[str, float]:
        m = self.models.get(field)
        if m is None:
            return {}
        d = self._np.asarray(X @ m.coef_.T).ravel() + m.intercept_   # decision_function without sklearn's checks
        if len(m.classes_) == 2:
            d = self._np.array([-d, d]) / 2
        e = self._np.exp((d - d.max()) * SOFTMAX_T.get(field, 4.0))
        p = e / e.sum()
        return {str(c): float(v) for c, v in zip(m.classes_, p)}

    def evidence(self, X, field: str, label: str, k: int = 3, text: str = "") -> list[str]:
        """The k features of the text that pushed most towards `label` (for the explanation)."""
        m = self.models.get(field)
        if m is None or label not in m.classes_:
            return []
        ci = list(m.classes_).index(label)
        text = _model_text(text) if text else text   # the words the features saw (place names masked)
        coef = m.coef_[ci] if m.coef_.shape[0] > 1 else (m.coef_[0] if ci == 1 else -m.coef_[0])
        row = X.getrow(0)
        contrib = row.data * coef[row.indices]
        order = contrib.argsort()[::-1]
        out: list[str] = []
        for j in order:
            if contrib[j] <= 0 or len(out) >= k:
                break
            name = str(self.feature_names[row.indices[j]])
            name = _feature_zh(name, text) if name.startswith("#") else name.replace("_", "")
            if not name or len(name) < 2 or "某地" in name or any(ch in name for ch in "，。？！、,.?! ") \
                    or any(name in o or o in name for o in out):
                continue
            out.append(name)
        return out

    # kept for callers of the old model
    def predict(self, text: str) -> dict[str, tuple[str, float]]:
        X = self.features(text)
        out = {}
        for f in self.models:
            p = self.probabilities(X, f)
            best = max(p, key=p.get)
            out[f] = (best, p[best])
        return out


_model_lock = threading.Lock()
_model: TextModel | None = None


def get_model() -> TextModel:
    """The model, trained once per process from the train split (~2 s)."""
    global _model
    with _model_lock:
        if _model is None:
            _model = TextModel(training_rows())
        return _model


def set_model(model: TextModel | None) -> None:
    """Use this model (e.g. one trained on cross-validation folds); None retrains at next use."""
    global _model
    with _model_lock:
        _model = model


def warm_up() -> None:
    """Train the model and build the catalogue index now rather than on the first call."""
    get_model().features("停电了")
    _search("身份证")
    _directory(None)


def _normalise(text: str) -> str:
    return R.normalise(text)


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


# how rules and model are combined (chosen by cross-validation on the train split:
# python -m bench.bench_classify --split train --cv)
OPTIONS = {
    "help_request": True,           # asking an office to act is 求助 unless the caller blames it
    "ask_on_behalf": True,          # "帮我们问问" read as 咨询 is 求助 unless the caller asks for themselves too
    "outage_te_model_min": 0.8,     # a cut supply that no danger rule calls a hazard: 特急 from the model only from this
    "urgency_decisive": True,       # a cut supply or wages owed is 紧急 whatever the model says
    "declared_type": True,          # the type the caller names decides (intake_rules.yaml declared_type)
    "type_cue_override": True,      # a type cue decides when the model's best probability < TYPE_OVERRIDE_BELOW
    "urgency": "combined",          # rules | model | combined
    "department": "model",          # rules_first | model_first | model
    "dept_rule_above": 0.5,         # model_first: the keyword rule wins when the model is below this
    "dept_matter_below": 0.5,
    "dept_unseen_below": 0.6,       # a cue of a department the model never saw decides below this
    "urgency_model_min": 0.5,       # the model alone raises 一般 to 紧急 only from this probability
    "police_crime": True,           # 求助/举报 about a crime (诈骗, 盗窃, 赌博 ...) -> 公安 (intake_rules.yaml)
    "mask_places": True,            # place names -> 某地 in the model's input (see _model_text)
    "type_cap_sure": 0.6,
    "hazard_category": True,        # 求助 about a 特急 hazard -> 综治类 (政务类 in the caller's own home); 举报 -> 政务类
    "hazard_te_min": 0.3,           # a 特急 hazard is 综治类 from this urgency-model probability (else the category model)
    "category_else": "model",       # 求助/举报 otherwise: 政务类 | model (政务类/综治类)           # the type caps a 特急 from a danger rule only from this probability
    "category": "dept",             # 求助/举报: dept (公安→警务类, 综治中心→综治类, else model) | model       # a catalogue matter decides the department when the model is below this
}


# share of the train rows (求助/举报) matching intake_rules.yaml `police_crime` that 公安 handles (40/42)
POLICE_CRIME_PRECISION = 0.95
# share of the 表扬 rows of requests_a–h naming exactly one unit whose department is that unit (304/313)
PRAISE_PRECISION = 0.97


def _pct(p: float) -> str:
    return f"{round(p * 100)}%"


def _words_zh(words: list[str]) -> str:
    return "、".join(f"“{w}”" for w in words)


def _decide_type(model: TextModel, X, t: str) -> tuple[str, float, str, dict]:
    typ, conf, why, p = _decide_type_of(model, X, t)
    # asking us to ask for them ("帮我们问问") wants something done (intake_rules.yaml ask_self)
    ask = R.ASK_ON_BEHALF.search(t) if OPTIONS["ask_on_behalf"] and typ == "咨询" else None
    if ask and not R.ASK_SELF.search(t) and not R.declared_type(t):
        return "求助", p.get("求助", 0.0), f"“{ask.group(0)}”——{R.ASK_ON_BEHALF_REASON}（模型：咨询 {_pct(p['咨询'])}）", p
    return typ, conf, why, p


def _decide_type_of(model: TextModel, X, t: str) -> tuple[str, float, str, dict]:
    p = model.probabilities(X, "type")
    best = max(p, key=p.get)
    said = R.declared_type(t) if OPTIONS["declared_type"] else None
    if said and (said[0] == best or p[best] < R.DECLARED_OVERRIDE_BELOW):
        typ, words, why = said
        return typ, max(p.get(typ, 0.0), 0.9), f"“{words}”——{why}（模型 {_pct(p.get(typ, 0.0))}）", p
    cues = R.type_cues(t)
    ask = R.HELP_REQUEST.search(t) if OPTIONS["help_request"] and best == "投诉" else None
    if ask and not any(ty == "投诉" for ty, _, _ in cues):
        # asking an office to look into someone's violation ("请审计局去查查" a misspent fund) reports it
        report = next(((w, why) for ty, w, why in cues if ty == "举报"), None)
        if report:
            return "举报", p.get("举报", 0.0), f"“{report[0]}”——{report[1]}（模型：投诉 {_pct(p[best])}）", p
        return "求助", p.get("求助", 0.0), f"“{ask.group(0)}”——{R.HELP_REQUEST.reason_zh}（模型：投诉 {_pct(p[best])}）", p
    if OPTIONS["type_cue_override"] and cues and p[best] < R.TYPE_OVERRIDE.get(cues[0][0], R.TYPE_OVERRIDE_BELOW):
        typ, words, why = cues[0]
        return typ, p.get(typ, 0.0), f"规则：“{words}”——{why}（模型拿不准）", p
    cue = next(((w, why) for ty, w, why in cues if ty == best), None)
    if cue:
        return best, p[best], f"“{cue[0]}”——{cue[1]}（模型 {_pct(p[best])}）", p
    ev = model.evidence(X, "type", best, text=t)
    return best, p[best], f"模型依据词语{_words_zh(ev)}判断为{best}（{_pct(p[best])}）" if ev else \
        f"模型判断为{best}（{_pct(p[best])}）", p


def _decide_urgency(model: TextModel, X, t: str, emo: str, is_emergency: bool) -> tuple[str, float, list[str], str]:
    level, reasons, quiet = R.urgency_rules(t, emo, is_emergency)
    if is_emergency:
        return level, 1.0, reasons, reasons[0]
    p = model.probabilities(X, "urgency")
    mode = OPTIONS["urgency"]
    if not p or mode == "rules":
        why = "；".join(reasons) if reasons else (f"“{quiet}”：不是正在发生的问题" if quiet else "未发现险情、断水断电或多人受影响的情形")
        return level, 1.0, reasons, why
    best = max(p, key=p.get)
    ev = model.evidence(X, "urgency", best, text=t)
    model_why = f"模型依据词语{_words_zh(ev)}判断为{best}（{_pct(p[best])}）" if ev else f"模型判断为{best}（{_pct(p[best])}）"
    if mode == "model":
        return best, p[best], reasons if best == level else [model_why], model_why
    # combined: a danger rule always makes 特急 (recall first); otherwise the model, raised to the
    # rule's level when the rule finds a cut supply / many affected and the model agrees it is not 一般
    rank = {"一般": 0, "紧急": 1, "特急": 2}
    if level == "特急":
        return "特急", max(p.get("特急", 0.0), 0.5), reasons, "；".join(reasons)
    sure = R.decisive_urgent(t) if level == "紧急" and OPTIONS["urgency_decisive"] else None
    # the model alone makes 特急 when it is sure; for a cut supply with no danger rule, surer still
    if best == "特急" and p["特急"] >= (OPTIONS["outage_te_model_min"] if sure is not None else 0.5):
        return "特急", p["特急"], [model_why], model_why
    if sure is not None:
        return "紧急", max(p.get("紧急", 0.0), 0.9), reasons, "；".join(reasons) + "（按规定为紧急）"
    if level == "紧急" and best != "一般":
        return "紧急", p.get("紧急", 0.0), reasons, "；".join(reasons)
    if level == "紧急" and p.get("紧急", 0.0) + p.get("特急", 0.0) >= 0.3:
        return "紧急", p.get("紧急", 0.0), reasons, "；".join(reasons) + f"（模型 {_pct(p.get('紧急', 0.0))}）"
    if best == "特急":
        best = "紧急"
    if rank[best] > 0 and p[best] >= OPTIONS["urgency_model_min"]:
        return best, p[best], [model_why], model_why
    best = "一般"
    why = f"“{quiet}”：不是正在发生的问题" if quiet else (
        "未发现险情、断水断电或多人受影响的情形" + (f"；规则线索（{'；'.join(reasons)}）模型认为不足以升级" if reasons else ""))
    return "一般", max(p["一般"], 1 - p.get("紧急", 0.0) - p.get("特急", 0.0)), [], why


# published rules: 咨询/建议/表扬 are 一般 (nothing is happening to anyone); a 投诉 is about how a unit
# served, so a danger happening now is reported as 求助 (特急), not as a complaint
TYPE_MAX_URGENCY = {"咨询": "一般", "建议": "一般", "表扬": "一般", "投诉": "紧急"}


def _cap_by_type(typ: str, p_type: float, urg: str, urg_reasons: list[str], why: str,
                 t: str = "", p_urg: dict | None = None) -> tuple[str, list[str], str]:
    """Urgency no higher than the type allows; a danger rule (特急) is kept when the type is uncertain
    (recall of 特急 first)."""
    cap = TYPE_MAX_URGENCY.get(typ)
    rank = {"一般": 0, "紧急": 1, "特急": 2}
    if cap is None or rank[urg] <= rank[cap] or (urg == "特急" and p_type < OPTIONS["type_cap_sure"]):
        return urg, urg_reasons, why
    if cap == "紧急" and p_urg is not None:
        # a complaint that mentions a danger is about how a unit served: 紧急 only when a 紧急 rule
        # applies or the model prefers 紧急 to 一般, else 一般
        urgent = [r.reason_zh for r in R.URGENT_RULES if t and r.search(t)]
        if not urgent and p_urg.get("紧急", 0.0) + p_urg.get("特急", 0.0) < p_urg.get("一般", 0.0):
            return "一般", [], f"{typ}类诉求按规定最高为紧急，未见断水断电或多人受影响（{why}）"
        return "紧急", urgent or urg_reasons, f"{typ}类诉求按规定为紧急（{why}）"
    return cap, [], f"{typ}类诉求按规定为{cap}（{why}）"


def _decide_department(model: TextModel, X, t: str, find_matter) -> tuple[str | None, float, str]:
    from workorders.dispatch import catalogue_department, match_departments
    p = model.probabilities(X, "department")
    best = max(p, key=p.get) if p else None
    rule = match_departments(R.mask_landmarks(t))
    names = _dept_names()
    if OPTIONS["department"] == "model" and best is not None:
        rule = None
    # a department the model has no examples of can only come from the rules: the unit the caller
    # names, or (when the model is unsure) that department's cue words
    known = set(p)
    named = {d: w for d, w in R.agency_cues(t).items() if d not in known}
    cued = {d: w for d, w in R.department_cues(t).items() if d not in known}
    # the model's own best has no cue in the text either: the unseen department's cue is the evidence
    backed = best in R.department_cues(t) or best in R.agency_cues(t)
    unseen = named or (cued if best is None or p[best] < OPTIONS["dept_unseen_below"] or not backed else {})
    if len(unseen) == 1:
        d, w = next(iter(unseen.items()))
        return d, 0.5, f"“{w}”（{names.get(d, d)}）：按来电说到的单位或事项派（模型没有学过这个部门）"
    matter = find_matter() if best is None or p[best] < OPTIONS["dept_matter_below"] else None
    if matter is not None:
        d = catalogue_department(matter[0].split(".", 1)[0])
        return d, p.get(d, 0.0), f"事项“{matter[1]}”"
    if best is None:
        return (rule.lead, 0.0, rule.reason_zh) if rule else (None, 0.0, "")
    ev = model.evidence(X, "department", best, text=t)
    model_why = (f"模型依据词语{_words_zh(ev)}判断由{names.get(best, best)}办理（{_pct(p[best])}）" if ev
                 else f"模型判断由{names.get(best, best)}办理（{_pct(p[best])}）")
    if rule is not None and OPTIONS["department"] == "rules_first":
        return rule.lead, p.get(rule.lead, 0.0), rule.reason_zh
    if rule is not None and rule.lead != best and p[best] < OPTIONS["dept_rule_above"] \
            and p.get(rule.lead, 0.0) > 0.05:
        return rule.lead, p.get(rule.lead, 0.0), rule.reason_zh + f"（模型拿不准：{names.get(best, best)} {_pct(p[best])}）"
    if rule is not None and rule.lead == best:
        return best, p[best], rule.reason_zh + f"（模型 {_pct(p[best])}）"
    return best, p[best], model_why


_dept_cache: dict = {}


def _dept_names() -> dict[str, str]:
    if not _dept_cache:
        try:
            import yaml
            with open(Path(__file__).resolve().parent / "data" / "departments.yaml", encoding="utf-8") as fh:
                _dept_cache.update({d["id"]: d["name"] for d in yaml.safe_load(fh)})
        except Exception:   # noqa: BLE001 - names are only for the explanation
            _dept_cache["_"] = "_"
    return _dept_cache


def classify(text: str, context: dict | None = None) -> Classification:
    """Classify one request. `context` (optional): {"location": {village, township, county}} or those keys
    at top level (e.g. the caller's registered township), "directory": a Directory to locate against.

    Every decision carries a short Chinese reason in `reasons` (field -> reason) and a probability
    in `confidence`; `needs_review` is set (with `review_reasons`) when the model is unsure.
    The published rules behind the decisions: workorders/intake_rules.yaml."""
    if not isinstance(text, str):
        raise TypeError(f"text must be str, got {type(text).__name__}")
    if context is not None and not isinstance(context, dict):
        raise TypeError(f"context must be a dict or None, got {type(context).__name__}")
    text = text.strip()[:MAX_TEXT]
    if not text:
        raise ValueError("text is empty: nothing to classify")

    model = get_model()
    t = R.normalise(text)
    X = model.features(text)
    reasons: dict[str, str] = {}
    conf: dict[str, float] = {}
    review: list[str] = []

    emo, cues = R.emotion(t)
    em = R.emergency_check(text)
    emerg = (em["number"], em["reason_zh"]) if em.get("number") else None
    if em.get("veto"):
        reasons["emergency"] = f"“{em['matched']}”像{em['kind']}警情，但{em['veto']['reason_zh']}"
    elif emerg:
        reasons["emergency"] = f"“{em['matched']}”：{em['reason_zh']}"
    refusal = None if emerg else R.refusal(text)
    if refusal is not None:
        refusal = {"code": refusal["code"], "reason_zh": refusal["reason_zh"]}
        reasons["refusal"] = refusal["reason_zh"]
    if emerg and emo == "平静":
        emo = "焦虑"
    reasons["emotion"] = f"情绪线索{_words_zh(cues)}" if cues else "未发现情绪激动或焦虑的词语"

    req_type, conf["type"], reasons["type"], ptype = _decide_type(model, X, t)
    if emerg:
        req_type, reasons["type"] = "求助", "紧急警情，按求助登记并转紧急电话"
    urg, conf["urgency"], urg_reasons, reasons["urgency"] = _decide_urgency(model, X, t, emo, emerg is not None)
    p_urgency = model.probabilities(X, "urgency")   # read once: the type cap, the hazard category and review use it
    if not emerg:
        urg, urg_reasons, reasons["urgency"] = _cap_by_type(req_type, conf["type"], urg, urg_reasons,
                                                            reasons["urgency"], t, p_urgency)

    c = Classification(text=text, category="政务类", type=req_type, urgency=urg, urgency_reasons=urg_reasons,
                       emotion=emo, emotion_cues=cues, refusal=refusal,
                       emergency=emerg[0] if emerg else None, emergency_reason_zh=emerg[1] if emerg else None)

    # the catalogue search is the slowest step: run it only when its answer is used (an unsure
    # department model, or a category that carries a matter)
    searched: list = []

    def find_matter() -> tuple | None:
        if not searched:
            hits = _search(text) if c.is_work_order else []
            searched.append((hits[0].matter_id, hits[0].name, float(hits[0].score))
                            if hits and hits[0].score >= MATTER_MIN_SCORE else None)
        return searched[0]
    if emerg:
        c.department = EMERGENCY_DEPARTMENT.get(emerg[0])
        conf["department"] = 1.0
        c.department_reason = f"紧急警情转{emerg[0]}，不派工单（对应部门：{_dept_names().get(c.department, c.department)}）"
    else:
        c.department, conf["department"], c.department_reason = _decide_department(model, X, t, find_matter)
        praised = R.praised_unit(t, req_type)
        if praised and praised[0] != c.department:
            c.department, c.department_reason = praised[0], f"“{praised[1]}”：{R.PRAISE_REASON}"
            conf["department"] = max(conf["department"], PRAISE_PRECISION)
        fine = R.refine_department(c.department, t, req_type)
        if fine:
            c.department, c.department_reason = fine[0], f"“{fine[1]}”：{fine[2]}"
        owner = R.OWNERLESS_HAZARD.search(t) if urg == "特急" and req_type in ("求助", "举报") else None
        if owner:
            c.department, c.department_reason = "zongzhi", f"“{owner.group(0)}”：{R.OWNERLESS_HAZARD.reason_zh}"
        crime = (R.POLICE_CRIME.search(t) if urg != "特急" and not R.POLICE_CRIME_UNLESS.search(t) else None) \
            or R.POLICE_ALWAYS.search(t) if OPTIONS["police_crime"] and req_type in ("求助", "举报") else None
        if crime and c.department != "gongan":
            c.department_reason = f"“{crime.group(0)}”：{R.POLICE_CRIME.reason_zh}（模型：{_dept_names().get(c.department, c.department)}）"
            c.department = "gongan"
            conf["department"] = max(conf["department"], POLICE_CRIME_PRECISION)
    reasons["department"] = c.department_reason or "没有找到对口部门"

    if req_type in TYPE_CATEGORY:
        c.category, conf["category"] = TYPE_CATEGORY[req_type], conf["type"]
        reasons["category"] = f"类型为{req_type}，按规定归{c.category}"
    elif emerg:
        c.category = "警务类" if emerg[0] in ("110", "122") else "政务类"
        conf["category"] = 1.0
        reasons["category"] = f"紧急警情转{emerg[0]}"
    elif OPTIONS["category"] == "dept" and c.department == "gongan":
        c.category, conf["category"] = "警务类", conf["department"]
        reasons["category"] = f"{req_type}事项由公安派出所办理，归警务类"
    elif OPTIONS["category"] == "dept" and c.department == "zongzhi":
        c.category, conf["category"] = "综治类", conf["department"]
        reasons["category"] = f"矛盾纠纷由综治中心办理，归综治类"
    elif OPTIONS["hazard_category"] and urg == "特急" and req_type == "求助" and not R.SUPPLY_CUT.search(t) \
            and _hazard_sure(p_urgency, model, X):
        # the hotline owner's decision (intake_rules.yaml 类别的读法): a hazard in public space is 综治类,
        # coordinated by the 综治中心 while the owning unit fixes it; only in the caller's own home 政务类
        own = R.own_home_hazard(_model_text(text))   # place names (柳树镇, 马鞍山村) are not the public place
        unit = _dept_names().get(c.department, c.department)
        c.category, conf["category"] = ("政务类" if own else "综治类"), conf["urgency"]
        reasons["category"] = (f"“{own}”：{R.OWN_HOME_REASON}（{unit}）" if own
                               else f"{R.PUBLIC_HAZARD_REASON}（{unit}）")
    elif OPTIONS["hazard_category"] and urg == "特急" and req_type == "举报":
        # a 举报 of someone's violation (illegal fireworks store) stays the regulating unit's 政务类 work
        c.category, conf["category"] = "政务类", min(conf["urgency"], conf["department"])
        reasons["category"] = f"举报违法行为，由{_dept_names().get(c.department, c.department)}查处，归政务类"
    elif OPTIONS["hazard_category"] and OPTIONS["category_else"] == "政务类":
        c.category, conf["category"] = "政务类", conf["department"]
        reasons["category"] = f"{req_type}事项由{_dept_names().get(c.department, c.department)}办理，归政务类"
    else:
        keep = ("政务类", "综治类") if OPTIONS["category"] == "dept" else ("政务类", "综治类", "警务类")
        pc = {k: v for k, v in model.probabilities(X, "category").items() if k in keep}
        if not pc:
            c.category, conf["category"] = "政务类", 0.5
            reasons["category"] = "默认归政务类"
        else:
            total = sum(pc.values()) or 1.0
            best = max(pc, key=pc.get)
            c.category, conf["category"] = best, pc[best] / total
            ev = model.evidence(X, "category", best, text=t)
            reasons["category"] = (f"{req_type}事项，模型依据词语{_words_zh(ev)}判断为{best}（{_pct(conf['category'])}）"
                                   if ev else f"{req_type}事项，模型判断为{best}（{_pct(conf['category'])}）")

    matter = find_matter() if c.category in MATTER_CATEGORIES else None
    if matter is not None:
        c.matter_id, c.matter_name, c.matter_score = matter
        reasons["matter"] = f"服务目录事项“{c.matter_name}”（匹配度 {c.matter_score:.2f}）"

    if c.is_work_order:
        for f in ("type", "category", "urgency", "department"):
            if conf.get(f, 1.0) < REVIEW_BELOW[f]:
                review.append(f"{FIELD_ZH[f]}不确定（{_pct(conf[f])}）")
        if urg != "特急" and p_urgency.get("特急", 0.0) >= 0.3:
            review.append("可能是特急险情，请核实")
    c.reasons, c.needs_review, c.review_reasons = reasons, bool(review), review
    c.confidence = {k: round(v, 3) for k, v in conf.items()}
    try:
        c.location = _directory(context).locate(text, context)
    except Exception as exc:   # noqa: BLE001 - a broken directory must not stop intake
        c.location = {"village": None, "township": None, "county": None, "error": str(exc)}
    loc = c.location or {}
    if loc.get("township") or loc.get("village"):
        reasons["location"] = "地点：" + "".join(x for x in (loc.get("township"), loc.get("village")) if x) + \
            ("（来电人登记的地址）" if loc.get("source") == "context" else "")
    return c


def _hazard_sure(p_urgency: dict[str, float], model: TextModel, X) -> bool:
    """特急 is sure enough to make a public hazard 综治类: the urgency model itself gives 特急 at least
    OPTIONS["hazard_te_min"], or the category model prefers 综治类 (a 特急 read from one word, such as
    a road blocked by a landslide that has stopped, is left to the category model)."""
    if p_urgency.get("特急", 0.0) >= OPTIONS["hazard_te_min"]:
        return True
    pc = model.probabilities(X, "category")
    return pc.get("综治类", 0.0) >= pc.get("政务类", 0.0)


FIELD_ZH = {"type": "类型", "category": "类别", "urgency": "紧急程度", "department": "承办部门"}


__all__ = ["Classification", "classify", "read_labelled", "read_intake", "training_rows", "get_model", "set_model",
           "warm_up", "TextModel", "OPTIONS", "CATEGORIES", "TYPES",
           "URGENCIES", "EMOTIONS", "EMERGENCY_NUMBERS"]
