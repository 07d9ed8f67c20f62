"""Dialogue acts decided by exact rules, from bot/nlu/acts.yaml (the one home of their words).

`classify(text)` returns the act (an intent name of the domain) or None. The Rasa component
`DialogueActRules` sets that intent with confidence 1.0 in front of the model's ranking, so
"要得", "莫得", "再说一遍", "转人工" mean the same after every training; anything the rules do
not cover is left to the model.

When the words as said give no act, they are read once more in standard Mandarin
(textnorm/dialect.yaml: "侬讲啥" -> "你讲啥", "唔使" -> "不用") with the recogniser's slips of the
acts' key words repaired (`sound_alike` in acts.yaml: "转人恭" -> "转人工", "再说一变" -> "再说一遍").

Where the rules find no act, the learned reader (bot/nlu/learned.py) may name one in the caller's
own words ("你讲得咯快", "俺要跟活人说话"), only when it is sure (LEARNED_MIN) and the words are
not an answer a form could be waiting for: a short word (a name such as 谢凤珍 or 黄有福, a
relation) or a number read out. Those stay with the model and the form.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List

import yaml
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from textnorm.dialect import standard
from textnorm.pinyin import SoundAlike

DATA = Path(__file__).with_name("acts.yaml")
# The learned reader's act counts from this probability, on words of at least LEARNED_MIN_CHARS
# characters (shorter ones are names, relations, yes/no forms: the rules' and the form's).
# Cross-validated by round (bot/nlu/README.md, "The learned reader's acts").
LEARNED_MIN, LEARNED_MIN_CHARS = 0.6, 4
_DIGITS = re.compile(r"[0-9零〇幺一二两三四五六七八九十洞拐勾叉]{4,}")
_PUNCT = re.compile(r"[\s，。,.!！?？、~～…：:；;\"'“”‘’()（）\[\]【】]+")


@lru_cache(maxsize=1)
def _rules():
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    particles = data["particles"]
    leading = re.compile(f"^(?:{data['leading']})+")
    acts = []
    for spec in data["rules"]:
        exact = {_collapse(w) for w in (spec.get("exact") or [])}
        contains = re.compile(spec["contains"]) if spec.get("contains") else None
        acts.append((spec["act"], exact, contains, int(spec.get("max_len") or 10**6)))
    sound = data["sound_alike"]
    return particles, leading, acts, SoundAlike(sound["words"], int(sound["min_word_freq"]),
                                                sound.get("not_slips") or (), accent=True)


def rating_level(text: str) -> str | None:
    """The rating said in `text` (非常满意 … 非常不满意), or None (textnorm.answers: one vocabulary)."""
    from textnorm.answers import rating

    return rating(text)


def _collapse(word: str) -> str:
    """'对对对' -> '对', '好好好' -> '好', '是的是的' -> '是的' (repetition is emphasis)."""
    word = str(word).lower()
    for size in (1, 2, 3):
        m = re.fullmatch(rf"(.{{{size}}})\1+", word)
        if m:
            return m.group(1)
    return word


def _clauses(text: str) -> list[tuple[str, ...]]:
    """Each clause without and with its trailing particles ("什么" ends in 么, "得嘞" in 嘞)."""
    particles, leading, _, _ = _rules()
    out = []
    for part in _PUNCT.split(unicodedata.normalize("NFKC", text or "").lower()):
        if not part:
            continue
        core = leading.sub("", part) or part
        out.append((_collapse(core.rstrip(particles) or core), _collapse(core)))
    return out


@lru_cache(maxsize=1024)   # the guard, the act rules and the matter ranking ask about the same message
def classify(text: str) -> str | None:
    """The act of a whole utterance, or None when rules cannot tell."""
    if not text or text.startswith("/"):
        return None
    act = _classify(text)
    if act is None:
        heard = unicodedata.normalize("NFKC", text).lower()
        heard = _rules()[3].repair(standard(heard))
        if heard != unicodedata.normalize("NFKC", text).lower():
            act = _classify(heard)
    return act


def _classify(text: str) -> str | None:
    _, _, acts, _ = _rules()
    norm = unicodedata.normalize("NFKC", text).lower()
    length = len(_PUNCT.sub("", norm))
    for act, _exact, contains, max_len in acts:
        if contains is not None and length <= max_len and contains.search(norm):
            return act
    clauses = _clauses(text)
    if not clauses:
        return None
    found = set()
    for clause in clauses:
        act = next((a for a, exact, _c, _m in acts if any(form in exact for form in clause)), None)
        if act is None:
            return None
        found.add(act)
    # "好的，谢谢" / "嗯，再见": the last act is what the caller does now.
    if len(found) == 1:
        return found.pop()
    last = next(a for a, exact, _c, _m in acts if any(form in exact for form in clauses[-1]))
    return last if last in ("thank", "goodbye") else None


def learned_act(text: str) -> tuple[str, float] | None:
    """(act, probability) the learned reader is sure of, for words the rules found no act in."""
    from bot.nlu.learned import read

    plain = _PUNCT.sub("", unicodedata.normalize("NFKC", text or ""))
    if len(plain) < LEARNED_MIN_CHARS or _DIGITS.search(plain):
        return None
    reading = read(text)
    if reading is None or reading.act is None or reading.probability < LEARNED_MIN:
        return None
    return reading.act, reading.probability


def set_intent(message, name: str, confidence: float = 1.0) -> None:
    """Put `name` first in the message's intent and ranking (shared by the NLU components)."""
    ranking = [r for r in (message.get(INTENT_RANKING_KEY) or []) if r.get("name") != name]
    message.set(INTENT, {"name": name, "confidence": confidence}, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [{"name": name, "confidence": confidence}] + ranking, add_to_output=True)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class DialogueActRules(GraphComponent):
    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "DialogueActRules":
        from bot.nlu.learned import model

        _rules()[3].load()
        model()
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            act = classify(message.get(TEXT) or "")
            if act is not None:
                set_intent(message, act)
                message.set("act_source", "rules", add_to_output=False)
            else:
                found = learned_act(message.get(TEXT) or "")
                if found is not None:
                    act, probability = found
                    set_intent(message, act, probability)
                    message.set("act_source", "learned", add_to_output=False)
            if act == "rate_service":
                level = rating_level(message.get(TEXT) or "")
                entities = [e for e in (message.get("entities") or []) if e.get("entity") != "rating_level"]
                if level:
                    entities.append({"entity": "rating_level", "value": level, "start": 0,
                                     "end": len(message.get(TEXT) or ""), "confidence": 1.0,
                                     "extractor": type(self).__name__})
                message.set("entities", entities, add_to_output=True)
        return messages
