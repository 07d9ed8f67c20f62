"""Dialect-tolerant front end between ASR and the bot.

Whisper base hears elderly, accented callers with homophone slips (低保 -> 地宝,
高龄津贴 -> 高龄今天, 我家着火了 -> 我家找火轮, 是的 -> 许董).  Three repairs:

(a) context biasing: from the bot's last question (and the tracker's requested_slot)
    we know what is expected (yes/no, digits, a name, a matter, a rating).  That picks
    the Whisper initial_prompt, and for yes/no and ratings the audio is re-scored
    against the few expected answers (forced alignment, see engines/asr.score).
(b) pinyin correction: windows of the transcript are compared with the domain
    lexicon (catalogue names and aliases, emergency and hand-off phrases from the NLU
    data, key terms) on accent-merged toneless pinyin (textnorm.pinyin), allowing a
    few near-miss syllables in long terms.
(c) spoken numbers: when digits are expected, 幺/两/拐/洞/勾/叉 and Arabic runs with
    dashes become one digit string (textnorm.spoken_numbers).
(d) the keypad: every number can also be keyed with DTMF (handled by the pipeline).
(e) command spotting: a short turn that matched nothing is force-aligned against the few
    always-valid commands (转人工, 再说一遍, 说慢一点, emergencies); on 8 kHz phone audio
    Whisper base hears 转人工 as 拆眼空, and the alignment still recognises it.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from common.settings import BOT_DIR
from textnorm import answers
from textnorm.pinyin import fuzzy_syllables, syllables
from textnorm.spoken_numbers import looks_like_correction, to_digits

log = logging.getLogger("voice.frontend")


# ---------------------------------------------------------------- expectations

FREE, YESNO, DIGITS, NAME, MATTER, RATING = "free", "yesno", "digits", "name", "matter", "rating"

# Whisper initial_prompt per expectation.  Measured on the synth set, a prompt listing domain
# words HURTS free speech (CER after the front end 10.3% without vs 13.8% with; Whisper copies
# prompt words into the transcript), so free speech and matters get no prompt and are biased
# after recognition by the lexicon instead; closed answers get a short style prompt.
# (No sentence of the test sets appears in these prompts.)
_PROMPTS = {
    FREE: None,
    MATTER: None,
    YESNO: "是的。对的。不对。不是。",
    DIGITS: "号码是4206 2319 5807 1234，电话15071234567。",
    NAME: "我叫王秀英，三横王。我姓李，木子李。",
    RATING: "非常满意。满意。一般。不满意。",
}

# Expected answers for constrained re-scoring: (spoken form, canonical text sent to the bot).
CANDIDATES = {
    YESNO: [("是", "是的"), ("是的", "是的"), ("对", "对的"), ("对的", "对的"), ("没错", "没错"),
            ("好的", "好的"), ("可以", "可以"), ("不", "不对"), ("不对", "不对"), ("不是", "不是"),
            ("不要", "不要"), ("不用", "不用"), ("没有", "没有")],
    RATING: [("非常满意", "非常满意"), ("满意", "满意"), ("一般", "一般"), ("不满意", "不满意"),
             ("非常不满意", "非常不满意")],
}
_NEGATIONS = ("不", "没", "别", "无", "未")
# Whisper's slips on narrowband yes/no answers (无 for 不), mapped before the shared vocabulary is asked.
_ASR_SLIP_MAP = {"无对": "不对", "无是": "不是", "无要": "不要", "无用": "不用"}
_ASR_SLIPS = re.compile("|".join(_ASR_SLIP_MAP))
# Always-valid commands for command spotting (hand-off, repeat, slow down, emergencies).
COMMANDS = ["转人工", "人工服务", "我要找人工服务", "再说一遍", "说慢一点", "着火了", "救命", "有人晕倒了"]
URGENT_WORDS = ("转人工", "人工", "着火", "失火", "起火", "晕倒", "救命", "救护车", "报警", "车祸", "抢劫")


def expectation_from(bot_text: str | None, requested_slot: str | None = None) -> str:
    """What the bot waits for, from its last words and the tracker's requested_slot."""
    slot = (requested_slot or "").lower()
    text = bot_text or ""
    if slot:
        if any(k in slot for k in ("id_number", "idcard", "id_card", "phone", "number", "digits", "mobile")):
            return DIGITS
        if "name" in slot:
            return NAME
        if any(k in slot for k in ("confirm", "affirm", "consent", "yes")):
            return YESNO
        if "rating" in slot or "satisf" in slot:
            return RATING
        if "matter" in slot:
            return MATTER
    tail = text[-40:]
    if re.search(r"满意", tail) and re.search(r"打分|评价|满意吗|是否满意|满不满意", tail):
        return RATING
    if re.search(r"身份证号|手机号|电话号|号码", tail):
        return DIGITS
    if re.search(r"叫什么名字|您的姓名|怎么称呼", tail):
        return NAME
    if re.search(r"(对吗|对不对|是不是|是吗|好吗|要不要|需要吗|行吗|可以吗|吗？?$)", tail):
        return YESNO
    if re.search(r"办什么事|什么事|办什么", tail):
        return MATTER
    return FREE


def prompt_for(expectation: str) -> str | None:
    return _PROMPTS.get(expectation)


# ---------------------------------------------------------------- lexicon

_HAN_RUN = re.compile(r"[\u3400-\u9fff]+")
KEY_TERMS = ["低保", "高龄津贴", "身份证", "临时身份证", "社保卡", "户口", "上户口", "养老金", "资格认证",
             "养老金资格认证", "异地就医", "备案", "残疾人证", "补办", "转人工", "人工服务", "着火了",
             "我家着火了", "晕倒了", "停水", "路灯", "满意", "不满意", "再说一遍", "说慢一点"]
# How callers spell their surname on the phone ("弓长张"): standard descriptions.
SURNAME_SPELLINGS = ["弓长张", "立早章", "耳东陈", "木子李", "口天吴", "言午许", "双木林", "草头黄", "三横王",
                     "古月胡", "双人徐", "禾呈程", "人可何", "文刀刘", "子小孙", "关耳郑", "走肖赵", "木易杨",
                     "日召昭", "高矮的高", "周吉周", "马儿马", "朱红的朱", "弓长张的张"]
_NLU_INTENTS = ("emergency_fire", "emergency_medical", "emergency_police", "emergency_traffic",
                "request_human", "repeat", "slow_down")


@dataclass(frozen=True)
class Term:
    text: str
    plain: tuple[str, ...]
    fuzzy: tuple[str, ...]


def _nlu_phrases() -> list[str]:
    out = []
    for path in sorted(Path(BOT_DIR / "data").rglob("nlu.yml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        for item in doc.get("nlu", []) or []:
            if item.get("intent") in _NLU_INTENTS:
                for line in str(item.get("examples", "")).splitlines():
                    phrase = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", line.strip().lstrip("- ").strip())
                    if phrase:
                        out.append(phrase)
    return out


def _catalogue_terms() -> list[str]:
    try:
        from catalogue.loader import load_catalogue

        cat = load_catalogue(strict=False)
    except Exception as exc:  # noqa: BLE001 - catalogue missing or invalid: keep the rest
        log.warning("catalogue not available for the voice lexicon: %s", exc)
        return []
    out = []
    for matter in cat.matters:
        out.append(matter.get("name", ""))
        out.extend(matter.get("aliases", []) or [])
    return out


class Lexicon:
    def __init__(self, phrases: list[str]):
        seen, terms = set(), []
        for phrase in phrases:
            for run in _HAN_RUN.findall(phrase or ""):
                if 2 <= len(run) <= 10 and run not in seen:
                    seen.add(run)
                    terms.append(Term(run, tuple(syllables(run)), tuple(fuzzy_syllables(run))))
        # Longest first: a long phrase wins over the short term inside it.
        self.terms = sorted(terms, key=lambda t: -len(t.text))
        self.texts = frozenset(t.text for t in terms)

    def __len__(self) -> int:
        return len(self.terms)


@lru_cache(maxsize=1)
def known_utterances() -> frozenset[str]:
    """Fuzzy keys of every NLU example (all intents): utterances the bot already understands."""
    keys = set()
    for path in sorted(Path(BOT_DIR / "data").rglob("*.yml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        for item in doc.get("nlu", []) or []:
            for line in str(item.get("examples", "")).splitlines():
                phrase = re.sub(r"\[([^\]]+)\]\([^)]*\)|\[([^\]]+)\]\{[^}]*\}", r"\1\2", line.strip().lstrip("- "))
                han = "".join(_HAN_RUN.findall(phrase))
                if 1 <= len(han) <= 12:
                    keys.add(" ".join(fuzzy_syllables(han)))
    return frozenset(keys)


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    return Lexicon(KEY_TERMS + SURNAME_SPELLINGS + _catalogue_terms() + _nlu_phrases())


def _initial(s: str) -> str:
    for ini in ("zh", "ch", "sh"):
        if s.startswith(ini):
            return ini
    return s[0] if s and s[0] not in "aeiouv" else ""


def _near(a: str, b: str) -> bool:
    """Two accent-merged syllables that an ASR slip or an accent can swap."""
    if a == b:
        return True
    ia, ib = _initial(a), _initial(b)
    fa, fb = a[len(ia):], b[len(ib):]
    return (ia == ib and ia != "") or (fa == fb and fa != "")


def _allowed_misses(n: int) -> int:
    return 0 if n < 4 else (n + 1) // 3


def _match(term: Term, plain: list[str], fuzzy: list[str], i: int) -> int | None:
    """Number of near-miss syllables when `term` matches at position i, else None."""
    n = len(term.fuzzy)
    if n == 2:  # short terms: true homophones only (toneless), no accent merging
        return 0 if tuple(plain[i:i + 2]) == term.plain else None
    misses = 0
    for a, b in zip(fuzzy[i:i + n], term.fuzzy):
        if a == b:
            continue
        if not _near(a, b):
            return None
        misses += 1
        if misses > _allowed_misses(n):
            return None
    # The first and last syllables anchor the match (no misses there) except in long terms.
    if n < 5 and (fuzzy[i] != term.fuzzy[0] or fuzzy[i + n - 1] != term.fuzzy[-1]) and misses:
        if not (fuzzy[i] == term.fuzzy[0] or fuzzy[i + n - 1] == term.fuzzy[-1]):
            return None
    return misses


def correct_text(text: str, lexicon: Lexicon | None = None) -> tuple[str, list[tuple[str, str]]]:
    """Replace lexicon look-alikes in `text`; returns (text, [(heard, replaced_by), ...])."""
    lexicon = lexicon or default_lexicon()
    changes: list[tuple[str, str]] = []
    out, last = [], 0
    for m in _HAN_RUN.finditer(text or ""):
        run = m.group(0)
        plain, fuzzy = syllables(run), fuzzy_syllables(run)
        if len(plain) != len(run):  # unexpected tokenization: leave the run alone
            continue
        chars = list(run)
        taken = [False] * len(run)
        for term in lexicon.terms:
            n = len(term.text)
            if n > len(run):
                continue
            best = None
            for i in range(len(run) - n + 1):
                if any(taken[i:i + n]):
                    continue
                heard = "".join(chars[i:i + n])
                if heard == term.text:
                    best = (0, i)
                    break
                if heard in lexicon.texts:  # already another valid term: keep it
                    continue
                if any(neg in heard and neg not in term.text for neg in _NEGATIONS):
                    continue  # never flip a negation (不办了 must not become 补办了)
                misses = _match(term, plain, fuzzy, i)
                if misses is not None and (best is None or misses < best[0]):
                    best = (misses, i)
            if best is None:
                continue
            _, i = best
            heard = "".join(chars[i:i + n])
            if heard != term.text:
                changes.append((heard, term.text))
                chars[i:i + n] = list(term.text)
            for k in range(i, i + n):
                taken[k] = True
        out.append(text[last:m.start()])
        out.append("".join(chars))
        last = m.end()
    out.append((text or "")[last:])
    return "".join(out), changes


# ---------------------------------------------------------------- the front end


@dataclass
class FrontendResult:
    heard: str
    text: str
    expectation: str
    changes: list = field(default_factory=list)
    method: str = "none"

    @property
    def corrected(self) -> bool:
        return self.text != self.heard


def yes_no_of(text: str) -> str | None:
    """是的/不对 when the answer consists only of yes/no words (textnorm.answers, the bot's vocabulary), else
    None. "无对" (an ASR slip for 不对) -> 不对; "喂你好" -> None (a greeting, not a yes)."""
    t = re.sub(r"[^\u3400-\u9fff，,。.！!？?]", "", text or "")
    t = _ASR_SLIPS.sub(lambda m: _ASR_SLIP_MAP[m.group(0)], t)
    if not t or len(re.sub(r"[，,。.！!？?]", "", t)) > 6:
        return None
    kind = answers.bare_yes_no(t)
    return None if kind is None else ("是的" if kind else "不对")


class Frontend:
    """Stateless per call: give it the heard text, the expectation and a re-scorer."""

    SCORE_FLOOR = -5.0   # mean token log-prob under which no candidate is trusted
    COMMAND_FLOOR = -3.5  # a spotted command must align at least this well...
    COMMAND_MARGIN = 1.0  # ...be within this of the decoder's own text and this far ahead of the next command

    def _spot_command(self, text: str, scorer) -> str | None:
        """Command spotting for short, unrecognisable turns: narrowband phone audio turns
        转人工 into 拆眼空.  Force-align the decoder's text and the few always-valid commands;
        take a command only when it explains the audio about as well as the decoder's text
        and clearly better than every other command."""
        han = "".join(_HAN_RUN.findall(text))
        if not 1 <= len(han) <= 8:
            return None
        # Text that already reads as something the bot knows needs no rescue (saves ~0.25 s).
        lexicon = self.lexicon or default_lexicon()
        if " ".join(fuzzy_syllables(han)) in known_utterances() or any(t in han for t in lexicon.texts):
            return None
        try:
            scores = scorer([han] + COMMANDS)
        except Exception as exc:  # noqa: BLE001
            log.warning("command spotting failed: %s", exc)
            return None
        if not scores:
            return None
        own, cmd_scores = scores[0], scores[1:]
        order = sorted(range(len(COMMANDS)), key=lambda k: -cmd_scores[k])
        best, second = cmd_scores[order[0]], cmd_scores[order[1]]
        if best > self.COMMAND_FLOOR and best >= own - self.COMMAND_MARGIN and best - second >= self.COMMAND_MARGIN * 0.8:
            return COMMANDS[order[0]]
        return None

    def __init__(self, lexicon: Lexicon | None = None, enabled: bool = True):
        self.lexicon = lexicon
        self.enabled = enabled

    def hints_prompt(self, expectation: str) -> str | None:
        return prompt_for(expectation) if self.enabled else None

    def process(self, heard: str, expectation: str = FREE, scorer=None) -> FrontendResult:
        """`scorer(candidates) -> [score]` re-scores the same audio (None on text channels)."""
        res = FrontendResult(heard=heard, text=heard, expectation=expectation)
        if not self.enabled or not heard:
            return res
        text = heard.strip()
        if expectation == DIGITS and not looks_like_correction(text):
            digits = to_digits(text)
            han = len("".join(_HAN_RUN.findall(text)))
            if len(digits) >= 4 and len(digits) >= han // 2:
                res.text, res.method = digits, "digits"
                return res
        corrected, changes = correct_text(text, self.lexicon or default_lexicon())
        if changes:
            res.text, res.changes, res.method = corrected, changes, "pinyin"
        # Urgent words always win over what the bot expects.
        if any(w in corrected for w in URGENT_WORDS):
            return res
        if not changes and expectation not in CANDIDATES and expectation != DIGITS and scorer is not None:
            spotted = self._spot_command(text, scorer)
            if spotted:
                res.text, res.method, res.changes = spotted, "command", [(heard, spotted)]
                return res
        if expectation in CANDIDATES:
            han = "".join(_HAN_RUN.findall(text))
            canonical = dict(CANDIDATES[expectation])
            if han in canonical:                         # already one of the expected answers
                res.text, res.method = han, "exact"
                return res
            if 0 < len(han) <= 4 and scorer is not None:
                cands = CANDIDATES[expectation]
                try:
                    scores = scorer([c for c, _ in cands])
                except Exception as exc:  # noqa: BLE001 - scoring is an optional refinement
                    log.warning("candidate scoring failed: %s", exc)
                    scores = None
                if scores:
                    best = max(range(len(cands)), key=lambda k: scores[k])
                    if scores[best] > self.SCORE_FLOOR:
                        res.text, res.method = cands[best][1], "rescored"
                        res.changes = [(heard, res.text)]
                        return res
            direct = yes_no_of(text) if expectation == YESNO else None
            if direct:
                res.text, res.method = direct, "keyword"
        return res
