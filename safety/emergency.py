"""Emergency detection shared by the bot's NLU and 12345 intake, explainable by design.

Data: safety/emergencies.yaml (kinds in priority order, each with a number, a bot intent and
regular expressions, and the kinds it yields to when they are said too; vetoes for near-misses). `detect(text)` returns an `Emergency` with the
kind, the number to ring, any further number (an injured person in a traffic accident also
needs 120) and the matched words, or None. A match is dropped when the words around it show
a near-miss: a past event told as background, a hypothetical or prevention question, praise,
a complaint about how staff handled it, an administrative follow-up (claims, certificates, fees), a negation, a name or a place.

Callers speak dialect and speech recognisers mishear, so the text is read twice at most:
first with dialect words put into standard Mandarin (textnorm/dialect.yaml: 冇/没得 -> 没有,
唔见咗 -> 不见了), then, only when that finds nothing, with sound-alike slips of the key words
repaired (`sound_alike`: 着货/招火 -> 着火, 美气 -> 煤气, 云倒 -> 晕倒, and under the accent
mergers f/h, n/l, zh/z, in/ing: 起佛 -> 起火; textnorm.pinyin.SoundAlike).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from textnorm.dialect import standard as standard_words
from textnorm.pinyin import SoundAlike

DATA = Path(__file__).with_name("emergencies.yaml")
_SENTENCE_END = re.compile(r"[。！？!?；;\n]")
MEDICAL_NUMBER = "120"


@dataclass(frozen=True)
class Kind:
    name: str
    number: str
    intent: str
    reason_zh: str
    patterns: tuple[re.Pattern, ...]
    also: str | None = None
    also_if_injured: str | None = None
    injured: re.Pattern | None = None
    # False where the victim may be a thing: a phone snatched in the street is still a robbery.
    thing_veto: bool = True
    # True where the victim may be a thing but not an animal (a dog beaten is not a crime now).
    animal_veto: bool = False
    # Kinds that are an emergency only while still going on (money being transferred to a
    # fraudster): a match counts only when the sentence has one of these words.
    now: re.Pattern | None = None
    # Kinds that come first when found in the same words (emergencies.yaml, `yields_to`).
    yields_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Emergency:
    kind: str
    number: str
    intent: str
    reason_zh: str
    matched: str
    also: tuple[str, ...] = field(default_factory=tuple)

    @property
    def numbers(self) -> tuple[str, ...]:
        return (self.number, *self.also)


@dataclass(frozen=True)
class Rules:
    kinds: tuple[Kind, ...]
    past: re.Pattern
    present: re.Pattern
    hypothetical: re.Pattern
    conditional: re.Pattern
    topic_after: re.Pattern
    unhurt: re.Pattern
    animal: re.Pattern
    beast: re.Pattern
    habitual: re.Pattern
    chronic: re.Pattern
    thing: re.Pattern
    resolved: re.Pattern
    rescued: re.Pattern
    unresolved: re.Pattern
    settled: re.Pattern
    simile: re.Pattern
    interjection: re.Pattern
    coverage: re.Pattern
    averted: re.Pattern
    ongoing: re.Pattern
    idiom: re.Pattern
    praise: re.Pattern
    complaint: re.Pattern
    admin: re.Pattern
    negation: re.Pattern
    name_prefix: re.Pattern
    place_suffix: re.Pattern
    question: re.Pattern
    passive_agent: re.Pattern
    sounds: SoundAlike


@lru_cache(maxsize=1)
def rules() -> Rules:
    data = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    kinds = tuple(
        Kind(name=name, number=str(k["number"]), intent=k["intent"], reason_zh=k["reason_zh"],
             patterns=tuple(re.compile(p) for p in k["patterns"]),
             also=str(k["also"]) if k.get("also") else None,
             also_if_injured=str(k["also_if_injured"]) if k.get("also_if_injured") else None,
             injured=re.compile(k["injured"]) if k.get("injured") else None,
             thing_veto=bool(k.get("thing_veto", True)), animal_veto=bool(k.get("animal_veto", False)),
             now=re.compile(k["now"]) if k.get("now") else None,
             yields_to=tuple(k.get("yields_to") or ()))
        for name, k in data["kinds"].items())
    v = data["vetoes"]
    sound = data["sound_alike"]
    return Rules(
        kinds=kinds, past=re.compile(v["past"]), present=re.compile(v["present"]),
        hypothetical=re.compile(v["hypothetical"]), conditional=re.compile(v["conditional"]),
        topic_after=re.compile(v["topic_after"]), unhurt=re.compile(v["unhurt"]), animal=re.compile(v["animal"]), beast=re.compile(v["beast"]), habitual=re.compile(v["habitual"]), chronic=re.compile(v["chronic"]), thing=re.compile(v["thing"]), resolved=re.compile(v["resolved"]),
        rescued=re.compile(v["rescued"]), unresolved=re.compile(f"^(?:{v['unresolved']})"),
        settled=re.compile(v["settled"]),
        simile=re.compile(v["simile"]), interjection=re.compile(v["interjection"]), coverage=re.compile(v["coverage"]), ongoing=re.compile(v["ongoing"]), averted=re.compile(v["averted"]),
        idiom=re.compile(v["idiom"]), praise=re.compile(v["praise"]), complaint=re.compile(v["complaint"]),
        admin=re.compile(v["admin"]), negation=re.compile(f"(?:{v['negation']})$"),
        name_prefix=re.compile(f"(?:{v['name_prefix']})[\u4e00-\u9fff]{{0,2}}$"),
        place_suffix=re.compile(f"^(?:{v['place_suffix']})"),
        question=re.compile(f"(?:{v['question']})$"), passive_agent=re.compile(f"^(?:{v['passive_agent']})"),
        sounds=SoundAlike(sound["words"], int(sound["min_word_freq"]), sound["not_slips"],
                          accent=bool(sound.get("accent", False))))


# NFKC turns the full-width comma into ","; emergencies.yaml writes clause bounds as "，"
# ([^，。]{0,6} must stop at a comma), so the comma is put back after NFKC.
_PUNCTUATION = str.maketrans({",": "，"})


def normalise(text: str) -> str:
    """NFKC, no spaces, commas full-width (the patterns' clause boundary)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).translate(_PUNCTUATION)


def _sentence_bounds(text: str, pos: int) -> tuple[int, int]:
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if m.end() <= pos:
            start = m.end()
        else:
            return start, m.start()
    return start, len(text)


# Who it happened to: the last of these before the words decides between a person and a thing.
_PERSON = re.compile(r"人|孩|娃|老人|爸|妈|爹|娘|老伴|老公|老婆|儿子|女儿|爷|奶|我|他|她|婆|公|姐|哥|弟|妹")
_THING_AFTER = re.compile(r"^[^，。]{0,2}(一只|一条|一头|只|条)(狗|猫|鸡|鸭|羊|猪|牛)")


def _last(pattern: re.Pattern, text: str, default=None):
    found = default
    for m in pattern.finditer(text):
        found = m.start()
    return found


def veto(text: str, start: int, end: int, r: Rules | None = None, kind: Kind | None = None) -> str | None:
    """Why the match text[start:end] is not an emergency now, or None when it is."""
    r = r or rules()
    s0, s1 = _sentence_bounds(text, start)
    before, after = text[s0:start], text[end:s1]
    sentence = text[s0:s1]
    # "是不是燃气漏了" asks, it does not deny.
    if r.negation.search(before[-3:]) and not r.question.search(before):
        return "negation"
    name = r.name_prefix.search(before[-4:])
    # "叫车撞飞了", "让狗咬了": 叫/让 before an agent is the passive, not a name.
    if name and end - start <= 3 and not r.passive_agent.search(before[-4:][name.start() + 1:]):
        return "name"
    if end - start <= 2 and r.place_suffix.search(after):
        return "place"
    if r.praise.search(sentence):
        return "praise"
    if r.idiom.search(sentence):
        return "idiom"
    # "我心里像着了火一样": the words themselves are a simile.
    if r.simile.search(before[-3:]) and _SIMILE_AFTER.match(after):
        return "idiom"
    # A complaint about how staff handled it: the complaint may be its own sentence.
    if r.complaint.search(text) and not r.ongoing.search(text):
        return "complaint"
    thing = _last(r.thing, before[-8:]) if kind is None or kind.thing_veto else None
    # "我骑电瓶车被小轿车挂倒了", "我们车子被大水围住了": the vehicle someone rides carries that
    # person; "被蜂子叮了": the thing after 被/叫/让 did it.
    if thing is not None and (_RIDDEN.search(before[-8:][:thing]) or (
            _OURS.search(before[-8:][:thing]) and _VEHICLE.search(before[-8:][thing:]))):
        thing = None
    if thing is not None and thing > _last(_PERSON, before[-8:], default=-1):
        return "thing"
    if _THING_AFTER.search(after[:8]):
        return "thing"
    if kind is not None and kind.animal_veto and r.animal.search(before[-8:]) and not _PERSON.search(before[-6:]):
        return "thing"
    # "我家的兔子喘不上气，嘴巴一张一张的": a later clause without its own subject goes on about
    # the animal the sentence opens with.
    # A person named after the animal is who it happened to ("牛把我爷爷顶翻了，肋巴骨那里疼").
    clause_start = _last(_CLAUSE_END, before, default=-1) + 1
    beast = r.beast.search(before[:clause_start]) if kind is None or kind.thing_veto else None
    if beast and clause_start > 0 and not _PERSON.search(before[beast.end():]):
        return "thing"
    if r.topic_after.search(after):
        return "hypothetical"   # "火灾逃生演练", "落水的事情"
    clause = before[_last(_CLAUSE_END, before, default=-1) + 1:]
    if r.averted.search(clause + text[start:end]):
        return "averted"   # "差点撞了", "险些掉下去"
    # "现在住院" says how it ended, not that it goes on.
    if r.resolved.search(sentence) and not r.ongoing.search(_without_resolved(text[s0:start], r)):
        return "resolved"
    if kind is not None and kind.number == MEDICAL_NUMBER and r.unhurt.search(sentence):
        return "resolved"   # "树倒在地上了，没砸到人"
    # "火扑灭了，人都出来了" ends a fire or a rescue, not the burns or the crash that came with it.
    # "总阀关了还是一屋子味道": shut off, and still going on.
    if (kind is None or kind.number == "119") and any(
            not r.unresolved.search(sentence[m.end():]) for m in r.rescued.finditer(sentence)) \
            and not r.ongoing.search(text[s0:start]):
        return "resolved"
    # "报警器响过一次……现在想问": a present word after the event is about the question.
    if (after.startswith("过") or _PAST_AFTER.search(after)) and not r.present.search(text[s0:end]):
        return "past"   # "着过火", "屋头着火那年生的"
    upto = text[s0:end]   # markers inside the match count too ("三轮车上个月让人撞了")
    last_past = None
    for m in r.past.finditer(upto):
        last_past = m
    if last_past is not None and not r.present.search(upto, last_past.end()):
        return "past"
    last_hypo = None
    for m in r.hypothetical.finditer(upto):
        last_hypo = m
    # "要是老人突然倒了": a supposition, unless something is going on now after it.
    # "我在问预防接种证……哎，娃儿……": the caller broke off the question.
    if last_hypo is not None and r.interjection.search(upto, last_hypo.end()):
        last_hypo = None
    if (last_hypo is not None and r.conditional.fullmatch(last_hypo.group(0))
            and not r.ongoing.search(upto, last_hypo.end())):
        return "hypothetical"
    # "有人说我快递丢了要赔钱，让我扫码……": hearsay, unless the fraud is still going on.
    if (last_hypo is not None and not r.present.search(upto, last_hypo.end())
            and not (kind is not None and kind.now is not None and kind.now.search(sentence, last_hypo.end()))):
        return "hypothetical"
    if r.habitual.search(sentence) and not r.present.search(sentence) or \
            r.chronic.search(sentence) and not r.present.search(sentence.replace("一直", "")):
        return "habitual"
    # An administrative question about the event ("交通事故认定书怎么拿"): the admin words
    # come after it; "我想问补贴，我老伴突然晕倒了" asks nothing about the fall.
    # A fraud still going on names its pretext after it ("在ATM上操作，说是退医保钱，还在操作").
    if r.admin.search(after) and not r.present.search(text[s0:end]) and not (
            kind is not None and kind.now is not None and r.ongoing.search(sentence)):
        return "admin"
    # Whether a cover pays, asked first ("大病保险能报多少，我老公心梗住院……", "工伤保险能不能管
    # 下班路上出车祸"), unless the caller breaks off ("我想问医保报销，哎呀娃娃把洗衣液喝了")
    # or says it is happening now.
    if r.coverage.search(before) and not r.present.search(sentence) and not r.interjection.search(before):
        return "admin"
    if kind is not None and kind.now is not None and not kind.now.search(sentence):
        return "not_now"
    return None


_BARE_CALLS = ("救命", "快来人")
_CLAUSE_END = re.compile(r"[，,、]")
_RIDDEN = re.compile(r"(骑|开|坐|驾)着?$|(被|叫|让)$")
_OURS = re.compile(r"(我们|俺们|咱们|我家)的?$")
_VEHICLE = re.compile(r"^(车子|三轮车|电动车)")
_PAST_AFTER = re.compile(r"^[^，。]{0,2}(那年|那回|那次|那会|那阵|那天)")
_SIMILE_AFTER = re.compile(r"^[^，。]{0,2}(一样|似的|一般)")   # "像着了火一样": the close of a simile
# "救命的救", "着火那个火": a character of a name spelled out by a word that holds it.
_DESCRIBED = re.compile(r"([\u4e00-\u9fff]{1,3})(?:的|那个的?)([\u4e00-\u9fff])(?=[，,。\s]|$)")


def _drop_described(t: str) -> str:
    """Drop each spelled-out character with its word ("火是着火那个火") and the word where it
    stands elsewhere in the name or place ("在烧锅屯，就是那个烧锅的烧")."""
    words = []

    def drop(m: re.Match) -> str:
        if m.group(2) not in m.group(1):
            return m.group(0)
        word = m.group(1)[-2:] if m.group(2) in m.group(1)[-2:] else m.group(1)
        words.append(word)
        return ""

    t = _DESCRIBED.sub(drop, t)
    for word in words:
        if len(word) >= 2:
            t = t.replace(word, "某" * len(word))
    return t


def _without_resolved(text: str, r: Rules) -> str:
    return re.sub(f"(?:{r.ongoing.pattern})?(?:{r.resolved.pattern})", "", text)


def readings(text: str, r: Rules | None = None) -> list[str]:
    """The texts to read, in order: as said (dialect made standard), then with sound-alike slips
    of the key words repaired (only when that changes anything)."""
    r = r or rules()
    t = normalise(text)
    if not t or t.startswith("/"):
        return []
    # A name spelled out ("任救生，救命的救") is not a call for help: drop "<word>的<char>"
    # descriptions whose word holds the character.
    t = standard_words(_drop_described(t))
    repaired = r.sounds.repair(t)
    return [t] if repaired == t else [t, repaired]


def _found(t: str, r: Rules) -> list[tuple[Kind, str]]:
    found: list[tuple[Kind, str]] = []
    for kind in r.kinds:
        for pattern in kind.patterns:
            hit = next((m for m in pattern.finditer(t) if m.end() > m.start()
                        and veto(t, m.start(), m.end(), r, kind) is None), None)
            if hit:
                found.append((kind, hit.group(0)))
                break
    return found


def detect(text: str) -> Emergency | None:
    """The emergency in `text`, or None (see the module docstring)."""
    r = rules()
    found: list[tuple[Kind, str]] = []
    for t in readings(text, r):
        heard = _found(t, r)
        # "霉气泄露了，快来人": a bare call for help yields to what the repaired words name.
        if heard and not all(m in _BARE_CALLS for _, m in heard):
            found = heard
            break
        found = found or heard
    if not found:
        return None
    first = next((i for i, (k, _) in enumerate(found) if k.name in found[0][0].yields_to), 0)
    found.insert(0, found.pop(first))
    kind, matched = found[0]
    also: list[str] = []
    if kind.also:
        also.append(kind.also)
    if kind.also_if_injured and (any(k.number == MEDICAL_NUMBER for k, _ in found[1:])
                                 or (kind.injured is not None and kind.injured.search(t))):
        also.append(kind.also_if_injured)
    for k, _ in found[1:]:
        # An injured person in a crash is also_if_injured's business; someone trapped in the
        # car adds the rescue line (119).
        if (k.number not in (kind.number, *also)
                and not (kind.also_if_injured and k.number == MEDICAL_NUMBER)):
            also.append(k.number)
        if k.also and k.also not in (kind.number, *also):
            also.append(k.also)
    return Emergency(kind=kind.name, number=kind.number, intent=kind.intent, reason_zh=kind.reason_zh,
                     matched=matched, also=tuple(also))


def not_now(text: str) -> str | None:
    """Why a sentence the rules find no emergency in is not one to ask about either, or None:
    it spells out a name ("我叫陈火生，火车的火": no tuning emergency does, dozens of near-misses
    do) or says it is over and nobody is hurt ("插头拔了，现在没事了", "没砸到人")."""
    t = normalise(text)
    if any(m.group(2) in m.group(1) for m in _DESCRIBED.finditer(t)):
        return "name"
    if rules().settled.search(standard_words(t)):
        return "settled"
    return None


def explain(text: str) -> list[dict]:
    """Every candidate match with its kind and, when dropped, the near-miss reason (for staff)."""
    r, out = rules(), []
    for t in readings(text, r):
        for kind in r.kinds:
            for pattern in kind.patterns:
                for m in pattern.finditer(t):
                    if m.end() > m.start():
                        out.append({"kind": kind.name, "number": kind.number, "matched": m.group(0),
                                    "heard": t, "veto": veto(t, m.start(), m.end(), r, kind)})
    return out
