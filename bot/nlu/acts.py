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
relation) or a number read out. Those stay with the model and the form. When the reader is sure
the words are no act at all, the message's `act_source` is "none" (else "rules" or "learned").
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

from bot.nlu.learned import NONE
from textnorm.dialect import standard
from textnorm.pinyin import SoundAlike

DATA = Path(__file__).with_name("acts.yaml")
# The learned reader's act counts from this probability, on words of at least LEARNED_MIN_CHARS
# characters (shorter ones are names, relations, yes/no forms: the rules' and the form's).
# Cross-validated by round (bot/nlu/README.md, "The learned reader's acts").
LEARNED_MIN, LEARNED_MIN_CHARS = 0.6, 4
_DIGITS = re.compile(r"[0-9零〇幺一二两三四五六七八九十洞拐勾叉]{4,}")
# Hesitation before the words ("呃，不要短信", "嗯……那不办了", "嗯？什么什么"): not part of what the
# caller says.
_HESITATION = re.compile(r"^(?:(?:呃|额|嗯|哦|噢|唉|哎|啊|哈|那个|内个)+[\s，,、…．.。？?]+)+")
# An answer that opens with yes, no or a cancel ("对头，就是城关镇那个", "莫得，屋头就我一个",
# "那不办了，我回去商量下") is that answer; what follows explains it.
OPENING_ACTS = ("affirm", "deny", "stop_flow")
# A later clause that asks something: "不是，高龄津贴…我妈能不能领" corrects and asks, it is no plain no.
_ASKS_AFTER = re.compile(r"吗|能不能|可不可以|行不行|要不要|咋|怎么|怎样|啥|什么|多少|哪|几|[？?]|(能|可以|行)(不|伐)$")
# A contains rule's act that yields to such an opening yes ("行行行，那就帮我登记上" accepts the offer).
YIELDS_TO_OPENING = ("request_registration",)
_PUNCT = re.compile(r"[\s，。,.!！?？、~～…：:；;\"'“”‘’()（）\[\]【】]+")


@lru_cache(maxsize=1)
def _data() -> dict:
    return yaml.safe_load(DATA.read_text(encoding="utf-8"))


_WORD_CLASS = re.compile(r"\{\{(\w+)\}\}")


def _expand(pattern: str) -> str:
    """A rule's expression with each {{name}} replaced by the word class `words: name` of acts.yaml
    (one home for words several rules share: the ways to say "hang up", a greeting, the hotline)."""
    words = _data().get("words") or {}
    for _ in range(5):   # word classes may name other word classes
        pattern, n = _WORD_CLASS.subn(lambda m: f"(?:{words[m.group(1)]})", pattern)
        if not n:
            return pattern
    raise ValueError(f"acts.yaml: word classes nest too deep in {pattern[:60]}")


@lru_cache(maxsize=1)
def _rules():
    data = _data()
    particles = data["particles"]
    leading = re.compile(f"^(?:{data['leading']})+")
    addressed = re.compile(f"(?:{data['addressed']})$")
    acts = []
    for spec in data["rules"]:
        exact = {_collapse(w) for w in (spec.get("exact") or [])}
        contains = re.compile(_expand(spec["contains"])) if spec.get("contains") else None
        acts.append((spec["act"], exact, contains, int(spec.get("max_len") or 10**6)))
    sound = data["sound_alike"]
    # A key word said as such is no slip of another ("再讲" is not "再见").
    return particles, leading, acts, SoundAlike(sound["words"], int(sound["min_word_freq"]),
                                                list(sound.get("not_slips") or ()) + list(sound["words"]),
                                                accent=True), addressed


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
    particles, leading, _, _, addressed = _rules()
    out = []
    for part in _PUNCT.split(unicodedata.normalize("NFKC", text or "").lower()):
        if not part:
            continue
        core = leading.sub("", part) or part
        # the person spoken to at the end ("辛苦了同志", "好的师傅") is no part of the act's words
        bare = core.rstrip(particles)
        if addressed.search(bare) and addressed.sub("", bare):
            core = addressed.sub("", bare)
        out.append((_collapse(core.rstrip(particles) or core), _collapse(core)))
    return out


@lru_cache(maxsize=1)
def _keeps_line_words() -> re.Pattern:
    return re.compile(_expand(_data()["keeps_line"]))


def keeps_line(text: str) -> bool:
    """The caller asks not to be hung up on or has more to say ("莫挂电话，我还有事"): goodbye,
    whoever reads it, does not stand against these words."""
    return bool(_keeps_line_words().search(unicodedata.normalize("NFKC", text or "").lower()))


@lru_cache(maxsize=1024)   # the guard, the act rules and the matter ranking ask about the same message
def classify(text: str) -> str | None:
    """The act of a whole utterance, or None when rules cannot tell."""
    if not text or text.startswith("/"):
        return None
    said = unicodedata.normalize("NFKC", text).lower()
    heard = _rules()[3].repair(standard(said))
    readings = (said, heard) if heard != said else (said,)
    for words in readings:
        act = _classify(words)
        if act is not None:
            return act
    # Only then an opening yes/no/cancel with words after it ("好的，载见" is goodbye, read above).
    for words in readings:
        act = _opening(words)
        if act is not None:
            return act
    return None


def _exact_act(clause: tuple[str, ...]) -> str | None:
    return next((a for a, exact, _c, _m in _rules()[2] if any(form in exact for form in clause)), None)


def _classify(text: str) -> str | None:
    acts = _rules()[2]
    norm = unicodedata.normalize("NFKC", text).lower()
    norm = _HESITATION.sub("", norm) or norm
    length = len(_PUNCT.sub("", norm))
    clauses = _clauses(norm)
    opening = _exact_act(clauses[0]) if clauses else None
    for act, _exact, contains, max_len in acts:
        if act == "goodbye" and keeps_line(norm):
            continue
        if contains is not None and length <= max_len and contains.search(norm):
            return "affirm" if act in YIELDS_TO_OPENING and opening == "affirm" else act
    if not clauses:
        return None
    said = [_exact_act(clause) for clause in clauses]
    # A clause of filler words only ("喂，内个，是热线吧") says nothing: the others decide.
    leading = _rules()[1]
    said = [a for a, c in zip(said, clauses) if a or not leading.fullmatch(c[1])] or said
    if None not in said:
        found = set(said)
        # "好的，谢谢" / "嗯，再见": the last act is what the caller does now.
        if len(found) == 1:
            return found.pop()
        # Thanks or goodbye with an acknowledgement ("感谢哈，晓得了", "我知道了，挂了啊，拜") closes.
        if found <= {"affirm", "thank", "goodbye"}:
            return "goodbye" if "goodbye" in found else "thank"
        return said[-1] if said[-1] in ("thank", "goodbye") else None
    return None


def _opening(text: str) -> str | None:
    """The act of an answer opening with yes, no or a cancel: that act, unless a later clause
    does something else in the rules' words ("可以，打个四分" rates, "不对，刚才那个取消掉" cancels)."""
    norm = _HESITATION.sub("", text) or text
    clauses = [c for c in _PUNCT.split(norm) if c]
    # "就是……那个……垃圾桶都满了" hesitates; 就是 there is no yes.
    if len(clauses) < 2 or re.match(r"^[^，,。]*(…|\.\.)", norm):
        return None
    opening = _exact_act(_clauses(clauses[0])[0])
    if opening not in OPENING_ACTS:
        return None
    if opening != "stop_flow" and any(_ASKS_AFTER.search(c) for c in clauses[1:]):
        return None
    later = [a for a in (_classify(c) for c in clauses[1:]) if a not in (None, "affirm", "deny", opening)]
    return later[-1] if later else opening


def _sure_reading(text: str):
    """The learned reader's reading when it is sure (LEARNED_MIN) of words it may judge, else None."""
    from bot.nlu.learned import read

    plain = _PUNCT.sub("", unicodedata.normalize("NFKC", text or ""))
    if len(plain) < LEARNED_MIN_CHARS or _DIGITS.search(plain):
        return None
    reading = read(text)
    return reading if reading is not None and reading.probability >= LEARNED_MIN else None


def learned_act(text: str) -> tuple[str, float] | None:
    """(act, probability) the learned reader is sure of, for words the rules found no act in."""
    reading = _sure_reading(text)
    if reading is None or reading.act is None:
        return None
    return reading.act, reading.probability


def set_intent(message, name: str, confidence: float = 1.0) -> None:
    """Put `name` first in the message's intent and ranking (shared by the NLU components)."""
    ranking = [r for r in (message.get(INTENT_RANKING_KEY) or []) if r.get("name") != name]
    message.set(INTENT, {"name": name, "confidence": confidence}, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [{"name": name, "confidence": confidence}] + ranking, add_to_output=True)


def _drop_goodbye(message) -> None:
    """The model's goodbye yields to its next reading when the words keep the line open."""
    if (message.get(INTENT) or {}).get("name") != "goodbye":
        return
    ranking = [r for r in (message.get(INTENT_RANKING_KEY) or []) if r.get("name") != "goodbye"]
    nxt = ranking[0] if ranking else {"name": "nlu_fallback", "confidence": 0.0}
    message.set(INTENT, {"name": nxt["name"], "confidence": nxt.get("confidence", 0.0)}, add_to_output=True)
    message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)


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
            if act is None and keeps_line(message.get(TEXT) or ""):
                _drop_goodbye(message)
            if act is not None:
                set_intent(message, act)
                message.set("act_source", "rules", add_to_output=False)
            else:
                reading = _sure_reading(message.get(TEXT) or "")
                if reading is not None and reading.act is not None and not (
                        reading.act == "goodbye" and keeps_line(message.get(TEXT) or "")):
                    act = reading.act
                    set_intent(message, act, reading.probability)
                    message.set("act_source", "learned", add_to_output=False)
                elif reading is not None and reading.label == NONE:
                    # neither rules nor reader hear an act: the model's goodbye or rating must
                    # not stand against a matter the words name (bot/nlu/matter.py)
                    message.set("act_source", "none", add_to_output=False)
            if act == "rate_service":
                level = rating_level(message.get(TEXT) or "")
                entities = [e for e in (message.get("entities") or []) if e.get("entity") != "rating_level"]
                if level:
                    entities.append({"entity": "rating_level", "value": level, "start": 0,
                                     "end": len(message.get(TEXT) or ""), "confidence": 1.0,
                                     "extractor": type(self).__name__})
                message.set("entities", entities, add_to_output=True)
        return messages
