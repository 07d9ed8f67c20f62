"""Matters recognised from the catalogue inside Rasa's NLU pipeline.

`CatalogueMatterClassifier` ranks all catalogue matters for the message with the catalogue's
own knowledge (catalogue/search.py: names, colloquial aliases, accent-merged pinyin, IDF
weights) fused with sentence embeddings of the same names (catalogue/semantic.py), and sets:

- the entity `matter` = the best matter id (extractor `CatalogueMatterClassifier`, with the
  fused score), and `matter_alt` = the runner-up when the two are too close to call (the
  action then asks "A or B?");
- `matter_ranking` = the top matters with scores (in the parse output, for actions and staff);
- the intent: `ask_<aspect>` when the words ask about one aspect (fee, materials, where...),
  else `ask_matter` — unless an exact dialogue-act rule already decided the intent, or the
  model is sure of an intent that carries a matter (register it, complain, progress...).

DIET no longer decides which matter a sentence names.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.acts import set_intent

# Fusion of the lexical/pinyin score (0..1) with the embedding similarity in each view of a
# matter (catalogue/semantic.py VIEWS: best name/alias, summary, best example sentence), each
# as a z-score over all matters (how much this matter stands out), weighted per view. The
# views are different evidence, so they add up rather than only the best one counting.
# Chosen on the bench's matter set (a plateau: nearby weights are within 0.5 point).
VIEW_WEIGHTS = (0.1, 0.1, 0.2)
# When the catalogue's words alone settle it (the best lexical score at least LEXICAL_DECISIVE
# and DECISIVE_MARGIN ahead of the next), the sentence is not embedded: the embedding costs
# more than the rest of the parse and did not change one such choice on the bench. Nor is it
# embedded when no catalogue word or sound is said (no matter can be named then).
LEXICAL_DECISIVE = 0.6
DECISIVE_MARGIN = 0.35
# Among the best matter's siblings within SITUATION_WINDOW of it, the ones whose name fits what
# the caller says happened (catalogue/situations.py: 丢了 -> 补领, 到期 -> 换领, 搬走 -> 迁移)
# gain SITUATION_BONUS: siblings of one document differ in exactly that.
SITUATION_WINDOW = 0.5
SITUATION_BONUS = 0.3
# The best matter is taken as meant from this fused score and with at least LEXICAL_MIN of
# catalogue words or sounds in the message (the embedding alone always finds a "closest"
# matter, even for "你好"); below, the model's intent stands and the action asks.
ACCEPT = 1.1
LEXICAL_MIN = 0.1
# When the model itself heard a question about a matter (or could not tell), a lower bar;
# some catalogue words are still needed ("要多少钱" alone names no matter: the slot's does).
ACCEPT_WHEN_ASKED = 1.0
LEXICAL_MIN_WHEN_ASKED = 0.05
# When the model heard something else (a greeting, "确认", "有劳了"), only clear catalogue
# words in a real sentence override it ("我身份证丢了，想先挂个失" is not goodbye).
LEXICAL_TO_OVERRIDE = 0.45
MIN_CHARS_TO_OVERRIDE = 5
# A learned act this sure is kept over a matter, as an act of the rules is (cross-validated by
# round: bot/nlu/README.md, "The learned reader's acts").
LEARNED_FIRM = 0.8
ASKING_INTENTS = ("ask_matter", "ask_materials", "ask_fee", "ask_time", "ask_where", "ask_online", "ask_proxy",
                  "ask_eligibility", "nlu_fallback", "request_registration", "provide_info", None)
# A sentence that sounds like an emergency (safety/semantic.py) and has fewer catalogue words
# than this names no matter: one found by embeddings alone would keep the safety gate from
# asking about the emergency ("河边有个人被水充走了" is not 河湖问题反映).
DEFER_TO_SAFETY_LEXICAL = 0.35
# A guided flow's trigger words (去世, 低保, 残疾证) are often background to another request
# ("我爸去世了，他的残疾证要注销", "低保户孩子上学有助学金吗"): they replace the ranked best
# matter only when the flow's own matter ranks within FLOW_WINDOW of it (an ASR slip the
# ranking half heard, "身份正…到头了"); further behind, the ranking names what is wanted.
FLOW_WINDOW = 0.5
# Fused margin between the best two under which the bot asks "A or B?" (matter_alt is set).
CLEAR_MARGIN = 0.05
# Intents the model may keep when a matter is named (they act on the matter).
KEEP_WITH_MATTER = ("request_registration", "complain", "report_problem", "suggest", "praise",
                    "query_progress", "rate_service")
KEEP_MIN_CONFIDENCE = 0.5
# Of those, the ones about the service or the caller's own case rather than a request
# (rating, praise, "到哪一步了") are often the model's misreading of a question about a
# matter ("驾照过期一年多了还能换不"): with the matter in clear catalogue words they are kept
# only when the model is sure.
KEEP_ABOUT_SERVICE = ("praise", "query_progress", "rate_service")
KEEP_ABOUT_SERVICE_CONFIDENCE = 0.9
# The model's social acts that a matter named in words with no act at all (acts.py act_source
# "none": neither the rules nor the learned reader hear one) overrides at the bar of a question.
# Not report_problem: a report's words often read as an aspect ("前几天" -> ask_time), which would
# answer the guide instead of taking the report (suite h029, h031).
NOT_AGAINST_MATTER = ("goodbye", "greet", "thank", "rate_service", "praise", "stop_flow")
# Intents that stay when a guided flow's words are said (the caller acts on the matter).
KEEP_OVER_FLOW = ("request_registration", "complain", "suggest", "praise")
# Of those, the ones whose words bot/nlu/acts.yaml knows: they stay over a flow's words only when
# some clause says them ("俺身份证过期了，去银行取钱人家不给办" is the renewal, not a complaint,
# whatever one training's model reads in 不给办).
OVER_FLOW_NEEDS_CUE = ("complain", "suggest", "praise")
# Acts whose every cue acts.yaml lists ("are you a robot", "how far is my case"): the model alone
# does not decide them. Without their words in any clause the reading is the model's guess
# ("俺那是老人机…" is no robot question, "阿拉姆妈要到上海去看毛病" no progress query): the sentence
# counts as a question about a matter, and inside a form as the answer to its question.
CUE_ONLY = ("bot_challenge", "query_progress", "repeat", "slow_down")
# A clause that says one of these in the rules' words ("还得留电话啊？那算了吧，…不反映了") is then
# what the caller does.
CLAUSE_ACTS = ("request_human", "stop_flow")
# Otherwise a robot question or a progress query the rules do not know is still a question
# ("你系咪机械人", "我的低保批没批下来哦"): the model's reading stands for those; a statement
# ("好像是十二年，没交够十五年") is no such question.
ASKED = ("bot_challenge", "query_progress")
_QUESTION = re.compile(r"[?？]|吗|么$|伐$|呢|未|咪|有冇|[没不]$|[没不]有$|怎么|咋|点样|点解|哪|那一步|什么|啥|几时|多久|"
                       r"如何|(.)[不唔没冇]\1")
# "微信是啥子我都搞不懂", "什么也不会": a question word meaning "anything" asks nothing
_ANY_WORD = re.compile(r"(什么|啥子?|哪[个里儿]?)[^，。]{0,3}[都也]")


def _about_matter(text: str, intent_name: str) -> bool:
    """A question the model took for a progress query or a robot question, without their words,
    that asks about a matter: "俺明年就六十了，啥时候能领" asks when (an aspect of the matter),
    "听说要先备案，不然不能报销，是不是" and "我妈八十好几了，那个高龄今天咋领啊" name the matter
    they ask about (a progress query has its own words in acts.yaml: 批下来没有, 怎么样了)."""
    if intent_name == "query_progress" and aspect_intent(text) != "ask_matter":
        return True
    return _decide(text, None, 0.0, False)[1] is not None


def said_act(text: str, act: str) -> bool:
    """Whether the act rules (acts.yaml) read `act` in the text or in one of its clauses."""
    from bot.nlu.acts import classify

    return classify(text) == act or any(classify(c) == act for c in _CLAUSE.split(text or "") if c)


_CLAUSE = re.compile(r"[，,。！!？?；;\s…]+")


def _flow_matter(text: str) -> str | None:
    """The matter of the guided flow whose trigger words are in the text (flow_specs.yaml)."""
    from bot.actions import flow_specs

    flow = flow_specs.flow_trigger(text)
    return flow_specs.spec(flow)["matter"] if flow else None


def _flows_family(text: str) -> set[str]:
    """The matters of every flow whose words are said, and the matters those flows use (挂失 and
    临时身份证 for 补办): a ranking among them stands ("医保卡…刷不到…备案" is the filing)."""
    from bot.actions import flow_specs

    found = set()
    for fid in flow_specs.flows_said(text):
        s = flow_specs.spec(fid)
        found |= {s["matter"], *(s.get("uses") or {}).values()}
    return found
def _safety_would_ask(text: str, intent_name: str | None, intent_confidence: float, act_from_rules: bool) -> bool:
    """True when the safety gate (bot/nlu/emergency.py) would ask about an emergency here,
    were no matter named: the same conditions, and the sentence sounds like one."""
    from bot.nlu.emergency import CONFIDENT, MAY_DESCRIBE_EMERGENCY
    from safety.semantic import suspect

    if act_from_rules or not (intent_name in MAY_DESCRIBE_EMERGENCY or intent_confidence < CONFIDENT):
        return False
    return suspect(text) is not None


# Aspect words -> intent (what the caller asks about the matter). Checked in order.
ASPECTS = (
    ("ask_fee", r"多少钱|几多钱|好多钱|几块钱|收费|收钱|要钱|花钱|交钱|交多少|工本费|免费|费用|收不收|要不要钱|花费|贵不贵"),
    ("ask_materials", r"带什么|带啥|带些啥|带哪些|拿什么|拿啥|什么材料|啥材料|哪些材料|材料|要准备|准备什么|准备啥|资料|证件|带不带|要哪些东西|要些啥|要什么东西"),
    ("ask_time", r"多久|多长时间|几天|好久|几时能|什么时候能|啥时候能|多快|等多久|几个月|要多少天|多少天|几个工作日"),
    ("ask_online", r"网上|手机上|线上|不用跑|在家[^，。]{0,3}办|微信上|小程序|app|APP|网办"),
    ("ask_proxy", r"代办|代领|替我|帮[^，。]{0,3}代|本人不去|本人不到|本人去|本人到场|委托|别人能|别人帮|家里人能|儿子能|女儿能|娃能|子女能|代理|代签|去不了"),
    ("ask_where", r"在哪|去哪|哪个部门|哪个单位|哪个窗口|哪里办|到哪(?!一步|步)|找谁|找哪|哪儿办|啥地方|什么地方"),
    ("ask_eligibility", r"什么条件|啥条件|够不够|符合|什么人能|啥人能|谁可以|谁能|有什么要求|够格|资格|能不能办|能办吗|可以办吗|能领吗|能不能领|有没有份|算不算"),
)
_ASPECT_RES = tuple((intent, re.compile(p)) for intent, p in ASPECTS)
# In-form answers that are names or numbers must not be read as a matter.
_ANSWER_LIKE = re.compile(r"^(我|俺|他|她|老人|我妈|我爸)?(叫|姓|名字)|^[0-9０-９零〇一二两三四五六七八九幺洞拐勾叉xX\s，,]+$")


def aspect_intent(text: str) -> str:
    for intent, pattern in _ASPECT_RES:
        if pattern.search(text):
            return intent
    return "ask_matter"


@dataclass(frozen=True)
class Ranked:
    """One matter for one message: the fused score and its two parts."""
    matter_id: str
    name: str
    score: float      # lexical + sum(VIEW_WEIGHTS * semantic z-scores)
    lexical: float    # catalogue/search.py score, 0..1
    semantic: float   # embedding similarity as a z-score over all matters, views weighted
    matched: str
    decisive: bool = False   # taken on the catalogue's words alone (LEXICAL_DECISIVE)

    def as_dict(self) -> dict:
        return {"matter_id": self.matter_id, "name": self.name, "score": self.score,
                "lexical": round(self.lexical, 3), "semantic": self.semantic}


def rank(text: str, top_k: int = 5):
    """Matters ranked by lexical/pinyin score fused with sentence-embedding similarity."""
    import numpy as np

    from catalogue import semantic
    from catalogue.search import search

    lexical = search(text, 30)
    mv = semantic.vectors()
    decisive = bool(lexical) and lexical[0].score >= LEXICAL_DECISIVE and (
        len(lexical) < 2 or lexical[0].score - lexical[1].score >= DECISIVE_MARGIN)
    if mv is None or not lexical or decisive:
        return [Ranked(h.matter_id, h.name, h.score, h.score, 0.0, h.matched, decisive and i == 0)
                for i, h in enumerate(lexical[:top_k])]
    views = mv.view_similarities(text)
    z = np.nan_to_num((views - np.nanmean(views, axis=1, keepdims=True))
                      / np.maximum(np.nanstd(views, axis=1, keepdims=True), 1e-6))
    weights = np.asarray(VIEW_WEIGHTS, dtype=np.float32)[:, None]
    fused = (weights * z).sum(axis=0)
    z = fused / float(weights.sum())
    index = {mid: i for i, mid in enumerate(mv.ids)}
    matched = {}
    for h in lexical:
        if h.matter_id in index:
            fused[index[h.matter_id]] += h.score
            matched[h.matter_id] = h.matched
    from catalogue import situations
    from catalogue.loader import load_catalogue

    lex = {h.matter_id: h.score for h in lexical}
    cat = load_catalogue(strict=False)
    said = situations.said(text)
    if said:
        close = np.argsort(-fused)[:8]
        top = fused[close[0]]
        for i in close:
            m = cat.get(mv.ids[i])
            if (fused[i] >= top - SITUATION_WINDOW and situations.fitting(said, m["name"])
                    and situations.siblings(m, cat.get(mv.ids[close[0]]))):
                fused[i] += SITUATION_BONUS
    order = np.argsort(-fused)[:top_k]
    return [Ranked(mv.ids[i], cat.get(mv.ids[i])["name"], round(float(fused[i]), 4),
                   lex.get(mv.ids[i], 0.0), round(float(z[i]), 3), matched.get(mv.ids[i], "")) for i in order]


def decide(text: str, intent_name: str | None, intent_confidence: float, act_from_rules: bool,
           no_act: bool = False):
    """(intent or None to keep, best hit or None, runner-up when unclear or None, ranking).

    no_act: neither the act rules nor the learned reader hear any act in the words (acts.py
    act_source "none"); then the model's act (goodbye, a rating, thanks...) is no reading to keep
    against a matter the words name: "身份证…掰成两半了，还能用不嘛" asks about the card.

    Pure: no Rasa, so the bench and the tests call it directly."""
    if no_act and not act_from_rules and intent_name in NOT_AGAINST_MATTER:
        intent_name, intent_confidence = None, 0.0
    if (intent_name in CUE_ONLY and not act_from_rules and text and not text.startswith("/")
            and not said_act(text, intent_name)):
        said = next((act for act in CLAUSE_ACTS if said_act(text, act)), None)
        if said:
            return said, None, None, []
        if intent_name in ASKED and _QUESTION.search(_ANY_WORD.sub("", text)) and not _about_matter(text, intent_name) \
                or intent_name not in ASKED:
            return _decide(text, intent_name, intent_confidence, act_from_rules)
        intent, best, alt, hits = _decide(text, None, 0.0, False)
        return intent or "ask_matter", best, alt, hits
    return _decide(text, intent_name, intent_confidence, act_from_rules)


def _decide(text: str, intent_name: str | None, intent_confidence: float, act_from_rules: bool):
    if not text or text.startswith("/"):
        return None, None, None, []
    if intent_name == "request_registration":
        from bot.actions import flow_specs

        if flow_specs.TOLD_BEFORE.search(text):
            # "上回我在你们这儿登记了补身份证": a request made before, told as background, is no new
            # request (the model reads 登记 as one); what follows says what is wanted now
            intent_name = "ask_matter"
    flow_matter = _flow_matter(text)
    if _ANSWER_LIKE.search(text.strip()) and not flow_matter:
        return None, None, None, []
    hits = rank(text)
    if (hits and hits[0].lexical < DEFER_TO_SAFETY_LEXICAL and not flow_matter
            and _safety_would_ask(text, intent_name, intent_confidence, act_from_rules)):
        return None, None, None, hits
    flow_wins = bool(flow_matter) and not act_from_rules and not (
        intent_name in KEEP_OVER_FLOW and intent_confidence >= KEEP_MIN_CONFIDENCE
        and (intent_name not in OVER_FLOW_NEEDS_CUE or said_act(text, intent_name)))
    asked = intent_name in ASKING_INTENTS and not act_from_rules
    if not hits or not (hits[0].decisive
                        or (asked and hits[0].score >= ACCEPT_WHEN_ASKED and hits[0].lexical >= LEXICAL_MIN_WHEN_ASKED)
                        or (hits[0].score >= ACCEPT and hits[0].lexical >= LEXICAL_MIN)):
        if flow_wins:
            # The words of a guided flow ("身份证…寻勿着", "医保…被案") name the matter when the
            # ranking cannot; a model reading of goodbye, stop or progress must not win over them.
            best = next((h for h in hits if h.matter_id == flow_matter), None) or \
                Ranked(flow_matter, flow_matter, 1.0, 1.0, 0.0, "")
            return aspect_intent(text), best, None, hits
        return None, None, None, hits
    best = hits[0]
    alt = hits[1] if len(hits) > 1 and hits[0].score - hits[1].score < CLEAR_MARGIN else None
    if act_from_rules:
        return None, best, alt, hits
    if intent_name in KEEP_WITH_MATTER and intent_confidence >= KEEP_MIN_CONFIDENCE and not flow_wins and not (
            intent_name in KEEP_ABOUT_SERVICE and intent_confidence < KEEP_ABOUT_SERVICE_CONFIDENCE
            and best.lexical >= LEXICAL_TO_OVERRIDE):
        return None, best, alt, hits
    if flow_wins:   # the ranking names the matter (挂失 vs 补领); the flow's words decide the intent
        from bot.actions import flow_specs

        flow_hit = next((h for h in hits if h.matter_id == flow_matter), None)
        if (best.matter_id not in _flows_family(text) and best.lexical < LEXICAL_TO_OVERRIDE
                and flow_hit is not None and best.score - flow_hit.score <= FLOW_WINDOW) \
                or flow_specs.preferred_over(flow_matter, best.matter_id):
            # a matter outside the flow ("身份正…到头了" ranked 临时身份证): the flow's words name it,
            # unless the catalogue's own words carry the ranking ("接着交职工医保" is not 交医保)
            # or the ranking puts the flow's matter far behind (its words are background)
            best, alt = flow_hit or Ranked(flow_matter, flow_matter, 1.0, 1.0, 0.0, ""), None
        return aspect_intent(text), best, alt, hits
    if not asked and (best.lexical < LEXICAL_TO_OVERRIDE or len(text.strip()) < MIN_CHARS_TO_OVERRIDE):
        return None, best, alt, hits
    return aspect_intent(text), best, alt, hits


def firm_act(message) -> bool:
    """An act the rules set, or the learned reader read with LEARNED_FIRM or more: the matter it
    names is noted, the act stays ("中中中，就是俺娘的那个高龄补贴" agrees, about that matter)."""
    source = message.get("act_source")
    return source == "rules" or (source == "learned"
                                 and float((message.get("intent") or {}).get("confidence") or 0) >= LEARNED_FIRM)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER,
                           DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class CatalogueMatterClassifier(GraphComponent):
    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "CatalogueMatterClassifier":
        from catalogue import semantic
        from catalogue.search import get_index

        get_index()  # build the index and vectors at load time, not on the first caller's turn
        semantic.vectors()
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            current = message.get(INTENT) or {}
            intent, best, alt, hits = decide(text, current.get("name"), float(current.get("confidence") or 0.0),
                                             firm_act(message), message.get("act_source") == "none")
            entities = [e for e in (message.get(ENTITIES) or []) if e.get("entity") not in ("matter", "matter_alt")]
            for name, hit in (("matter", best), ("matter_alt", alt)):
                if hit is not None:
                    entities.append({"entity": name, "value": hit.matter_id, "start": 0, "end": len(text),
                                     "confidence": hit.score, "extractor": type(self).__name__})
            message.set(ENTITIES, entities, add_to_output=True)
            message.set("matter_ranking", [h.as_dict() for h in hits], add_to_output=True)
            if intent is not None:
                set_intent(message, intent, confidence=max(0.5, hits[0].score if hits else 0.0))
        return messages
