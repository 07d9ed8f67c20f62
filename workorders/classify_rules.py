"""Interpretable rules for 12345 intake: emergencies, refusals, urgency and emotion.

Every rule carries a plain-Chinese reason that is shown to the operator, so a
decision can always be explained ("为什么是特急"). Rules favour precision: an
emergency or a refusal is only declared on explicit wording; anything unclear
stays a normal work order for a person to look at.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from textnorm.dialect import standard as standard_words


@dataclass(frozen=True)
class Rule:
    code: str
    pattern: re.Pattern
    reason_zh: str

    def search(self, text: str) -> re.Match | None:
        return self.pattern.search(text)


def _r(code: str, pattern: str, reason: str) -> Rule:
    return Rule(code, re.compile(pattern), reason)


# ------------------------------------------------------------------ emergencies (not work orders)
# One component for the bot and for intake: safety/emergency.py with its data (kinds, near-misses)
# in safety/emergencies.yaml.

# ------------------------------------------------------------------ refusals (12345 does not take)
LEGAL_PROCESS = _r(
    "in_legal_process",
    r"(已经|已|正在|还在|在)[^，。]{0,8}(起诉|诉讼|仲裁|复议|信访|上访|法院[^，。]{0,3}(审|起诉)|打官司|官司)|"
    r"(起诉|仲裁|复议|信访|上访|官司)[^，。]{0,8}(了|还在|受理|立案|没判|在等|结果|程序|办理期限)",
    "该事项已进入诉讼、仲裁、行政复议或信访程序，12345热线不再受理，请按原程序继续办理。")
OUTSIDE_REMIT = _r(
    "outside_remit",
    r"法院|法官|中院|检察院|检察官|执行局|判决|党委|党支部|党纪|纪委|入党|部队|军队|营区|民兵",
    "涉及党委、法院、检察院或军队的事务，不属于12345热线受理范围，请向相关机关反映。")
_PRANK = re.compile(r"打着玩|逗你玩|测试一下|无聊|随便打打|聊聊天|聊会|陪我说|就是不说|美女|声音真好听|晚上有空")
_ABUSE = re.compile(r"废物|蠢猪|傻子|傻[Xx逼]|他妈|你妈的|滚|吃干饭|算什么东西|一群骗子|就是要骂|就骂你")
# words that show a real problem is being reported, so rude wording alone is not refused
_ISSUE = re.compile(r"停|水|电|气|路|灯|桥|补贴|低保|保险|证|户口|办|修|工资|钱|房|地|污|垃圾|吵|医|学|车|"
                    r"村|镇|乡|县|漏|坏|塌|偷|骗|打人|投诉|举报")
HARASSMENT_REASON = "来电没有反映具体诉求，属于骚扰、恶作剧或辱骂，不予受理。"


def refusal(text: str) -> dict | None:
    """{code, reason_zh} when 12345 does not take the request, else None."""
    m = LEGAL_PROCESS.search(text)
    if m and not re.search(r"之前|还没(起诉|打官司)|不想", text):
        return {"code": LEGAL_PROCESS.code, "reason_zh": LEGAL_PROCESS.reason_zh, "matched": m.group(0)}
    m = OUTSIDE_REMIT.search(text)
    if m and not re.search(r"退伍|退役|老兵|军属|优待", text):
        return {"code": OUTSIDE_REMIT.code, "reason_zh": OUTSIDE_REMIT.reason_zh, "matched": m.group(0)}
    prank, abuse = _PRANK.search(text), _ABUSE.search(text)
    if prank or abuse:
        rest = _ABUSE.sub("", _PRANK.sub("", text))
        if not _ISSUE.search(rest):
            return {"code": "harassment", "reason_zh": HARASSMENT_REASON, "matched": (prank or abuse).group(0)}
    return None


def emergency(text: str) -> tuple[str, str, str] | None:
    """(number, reason_zh, matched words) for calls that belong to 110/119/120/122."""
    found = emergency_check(text)
    return (found["number"], found["reason_zh"], found["matched"]) if found.get("number") else None


def emergency_check(text: str) -> dict:
    """The emergency decision with its explanation.

    safety.emergency.detect (the product's detector, shared with the bot) proposes; the intake
    rules of intake_rules.yaml (`emergency`) then veto near-misses that are work orders (a
    proposal, a pollution complaint, a gas leak without fire ...), add in-progress crimes the
    detector misses, and correct the number. Returns {} when nothing was found, else a dict with
    number (None when vetoed), reason_zh, matched, kind, and veto {code, reason_zh} when vetoed.
    """
    from safety.emergency import detect

    t = normalise(text)
    found = detect(text)
    if found is None:
        for rule in EMERGENCY_SUPPLEMENTS:
            m = rule.pattern.search(t)
            if m:
                out = {"number": rule.number, "reason_zh": rule.reason_zh, "matched": m.group(0),
                       "kind": rule.code, "source": "intake_rules"}
                # a past event, a habit, a question or a proposal is not happening now; a veto
                # naming the supplement's code applies too (a wire, not a person, hangs in a tree)
                for veto in EMERGENCY_VETOES:
                    v = veto.pattern.search(t) if "any" in veto.kinds or rule.code in veto.kinds else None
                    if v and not (veto.unless and veto.unless.search(t)):
                        out["veto"] = {"code": veto.code, "reason_zh": veto.reason_zh, "matched": v.group(0)}
                        out["number"] = None
                        break
                return out
        return {}
    out = {"number": found.number, "reason_zh": found.reason_zh, "matched": found.matched, "kind": found.kind,
           "source": "safety.emergency"}
    for rule in EMERGENCY_VETOES:
        if "any" not in rule.kinds and found.kind not in rule.kinds:
            continue
        m = rule.pattern.search(t)
        if m and not (rule.unless and rule.unless.search(t)):
            out["veto"] = {"code": rule.code, "reason_zh": rule.reason_zh, "matched": m.group(0)}
            out["number"] = None
            return out
    for rule in EMERGENCY_RENUMBER:
        if out["number"] == rule.number and rule.pattern.search(t):
            out["number"], out["reason_zh"] = rule.to, rule.reason_zh
            break
    return out


# ------------------------------------------------------------------ published rules (intake_rules.yaml)
RULES_FILE = Path(__file__).resolve().parent / "intake_rules.yaml"


@lru_cache(maxsize=1)
def published() -> dict:
    """workorders/intake_rules.yaml: the rules staff can read, with the patterns used here."""
    with open(RULES_FILE, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _rules(items: list[dict]) -> tuple[Rule, ...]:
    return tuple(_r(it["code"], it["pattern"], it["reason"]) for it in items)


_cfg = published()
DIALECT: tuple[tuple[str, str], ...] = tuple((a, b) for a, b in _cfg["dialect"])
DANGER_RULES: tuple[Rule, ...] = _rules(_cfg["urgency"]["特急"])
URGENT_RULES: tuple[Rule, ...] = _rules(_cfg["urgency"]["紧急"])
UTILITY_CUT = next(r for r in URGENT_RULES if r.code == "utility_cut")
MANY_AFFECTED = next(r for r in URGENT_RULES if r.code == "many_affected")
WAGE_ARREARS = next(r for r in URGENT_RULES if r.code == "wage_arrears")
AGITATED_REASON = _cfg["urgency"]["agitated_reason"]
NOT_NOW = re.compile(_cfg["not_now"])
PAST = re.compile(_cfg["past"])
ASK_ON_BEHALF = re.compile(_cfg["ask_on_behalf"])
# the caller asks a question of their own as well (我想问一下…你们帮我问一下归哪个管): still a question
ASK_SELF = re.compile(_cfg.get("ask_self") or "(?!)")
ASK_ON_BEHALF_REASON: str = _cfg.get("ask_on_behalf_reason") or ""
DECISIVE_URGENT: frozenset[str] = frozenset(_cfg["urgency"].get("decisive") or ())
_outage = _cfg["urgency"].get("outage_not_danger") or {}
OUTAGE_CODES: frozenset[str] = frozenset(_outage.get("codes") or ())
OUTAGE_DANGER = re.compile(_outage.get("danger") or "(?!)")
# the caller says there is no danger now (a repair): the danger words do not make 特急
NO_DANGER = re.compile(_cfg["urgency"].get("no_danger") or "(?!)")
TYPE_CUES: tuple[tuple[str, re.Pattern, str], ...] = tuple(
    (c["type"], re.compile(c["pattern"]), c["reason"]) for c in _cfg["type_cues"])
TYPE_OVERRIDE_BELOW: float = float(_cfg["type_override_below"])
# a cue that is nearly always right (表扬, 建议) may decide against a surer model (see the yaml)
TYPE_OVERRIDE: dict[str, float] = {c["type"]: float(c.get("override_below", TYPE_OVERRIDE_BELOW))
                                   for c in _cfg["type_cues"]}


DECLARED_TYPE: tuple[tuple[str, re.Pattern, re.Pattern | None, str], ...] = tuple(
    (c["type"], re.compile(c["pattern"]), re.compile(c["unless"]) if c.get("unless") else None, c["reason"])
    for c in _cfg.get("declared_type") or ())
DECLARED_OVERRIDE_BELOW: float = float(_cfg.get("declared_override_below", 0.95))


def declared_type(text: str) -> tuple[str, str, str] | None:
    """(type, words, reason) when the caller names what the request is ("我要投诉", "举报",
    "建议", "表扬", "想问一下"), in the priority order of intake_rules.yaml; else None."""
    for typ, pat, unless, reason in DECLARED_TYPE:
        m = pat.search(text)
        if m and not (unless and unless.search(text)):
            return typ, m.group(0), reason
    return None


HELP_REQUEST = _r("help_request", _cfg["help_request"]["pattern"], _cfg["help_request"]["reason"])


@dataclass(frozen=True)
class EmergencyRule:
    code: str
    kinds: tuple[str, ...]
    pattern: re.Pattern
    unless: re.Pattern | None
    reason_zh: str
    number: str | None = None
    to: str | None = None


_em = _cfg["emergency"]
EMERGENCY_VETOES = tuple(EmergencyRule(v["code"], tuple(v["kinds"]), re.compile(v["pattern"]),
                                       re.compile(v["unless"]) if v.get("unless") else None, v["reason"])
                         for v in _em["vetoes"])
EMERGENCY_SUPPLEMENTS = tuple(EmergencyRule(v["code"], ("any",), re.compile(v["pattern"]), None, v["reason"],
                                            number=str(v["number"])) for v in _em["supplements"])
EMERGENCY_RENUMBER = tuple(EmergencyRule(f"{v['from']}->{v['to']}", ("any",), re.compile(v["pattern"]), None,
                                         v["reason"], number=str(v["from"]), to=str(v["to"]))
                           for v in _em["renumber"])


POLICE_CRIME = _r("police_crime", _cfg["police_crime"]["pattern"], _cfg["police_crime"]["reason"])
# a caller stranded without money (钱包被偷了，回不了家) asks for relief, not for a crime to be solved
POLICE_CRIME_UNLESS = re.compile(_cfg["police_crime"].get("unless") or "(?!)")
# guns and explosives kept privately: the police's even when the hazard is 特急
POLICE_ALWAYS = _r("police_always", _cfg["police_crime"].get("always") or "(?!)", _cfg["police_crime"]["reason"])
# a hazard no single department owns (几家单位都说不归他们管, 无主的烂尾房): the 综治中心 coordinates it
OWNERLESS_HAZARD = _r("ownerless_hazard", _cfg["ownerless_hazard"]["pattern"], _cfg["ownerless_hazard"]["reason"])

# a hazard in public space is 综治类 (the 综治中心 coordinates, the owning unit fixes it); the same
# hazard only in the caller's own home is 政务类 (intake_rules.yaml 类别的读法)
_ph = _cfg["public_hazard"]
PUBLIC_HAZARD_REASON: str = _ph["reason"]
OWN_HOME_REASON: str = _ph["own_reason"]
_OWN_HOME = re.compile(_ph["own_home"])
_PUBLIC_PLACE = re.compile(_ph["public"])
SUPPLY_CUT = re.compile(_ph["supply_cut"])


def own_home_hazard(text: str) -> str | None:
    """The words saying the hazard is inside the caller's own home (and nothing public is named), else None."""
    m = _OWN_HOME.search(text)
    return m.group(0) if m and not _PUBLIC_PLACE.search(text) else None


DEPARTMENT_CUES: dict[str, re.Pattern] = {d: re.compile(p) for d, p in (_cfg.get("department_cues") or {}).items()}


# from: one department or a list; types (optional): only for requests of these types
DEPARTMENT_REFINE: tuple[tuple[frozenset, str, re.Pattern, re.Pattern | None, str, frozenset | None], ...] = tuple(
    (frozenset([d["from"]] if isinstance(d["from"], str) else d["from"]), d["to"], re.compile(d["pattern"]),
     re.compile(d["unless"]) if d.get("unless") else None, d["reason"],
     frozenset(d["types"]) if d.get("types") else None)
    for d in _cfg.get("department_refine") or ())


def refine_department(dept: str | None, text: str, typ: str | None = None) -> tuple[str, str, str] | None:
    """(department, matched words, reason) when intake_rules.yaml `department_refine` moves `dept`
    to a more specific department for this normalised text (and request type), else None."""
    text = unaddressed(text)
    for frm, to, pat, unless, reason, types in DEPARTMENT_REFINE:
        if dept in frm and (types is None or typ in types):
            m = pat.search(text)
            if m and not (unless and unless.search(text)):
                return to, m.group(0), reason
    return None


AGENCY_CUES: dict[str, re.Pattern] = {d: re.compile(p) for d, p in (_cfg.get("agency_cues") or {}).items()}
# a unit named as a place (学校门口, 医院门口, 派出所旁边) says where, not who handles (intake_rules.yaml landmark)
_lm = _cfg.get("landmark") or {}
LANDMARK = re.compile(_lm.get("suffix") or "(?!)")
_LANDMARK_UNIT = re.compile(f"({_lm['units']})(?={_lm['suffix']})") if _lm.get("units") else None


def mask_landmarks(text: str) -> str:
    """学校门口 -> 某处门口: a unit named as a place is no evidence of who handles the request."""
    return _LANDMARK_UNIT.sub("某处", text) if _LANDMARK_UNIT else text


# the caller checking they reached the line ("喂，是热线吧") names no unit (intake_rules.yaml landmark.address)
ADDRESS = re.compile(_lm.get("address") or "(?!)")


def unaddressed(text: str) -> str:
    """喂，是热线吧 -> 喂，是某处吧: the caller addressing the line says nothing about the request."""
    return ADDRESS.sub("某处", text) if "热线" in text or "12345" in text else text


def _cue(pat: re.Pattern, text: str) -> str | None:
    """The first match of pat in text that is not a landmark (a place by the unit) nor the caller
    addressing the hotline, else None."""
    spans = [m.span() for m in ADDRESS.finditer(text)] if "热线" in text or "12345" in text else []
    for m in pat.finditer(text):
        if not LANDMARK.match(text, m.end()) and not any(a <= m.start() < b for a, b in spans):
            return m.group(0)
    return None


def agency_cues(text: str) -> dict[str, str]:
    """{department id: the unit the caller names} for the normalised text."""
    out = {}
    for d, pat in AGENCY_CUES.items():
        w = _cue(pat, text)
        if w:
            out[d] = w
    return out


PRAISE_NAMED_UNIT: bool = bool(_cfg.get("praise_named_unit"))
PRAISE_REASON = "表扬由来电人点名表扬的单位登记办理"


def praised_unit(text: str, typ: str | None) -> tuple[str, str] | None:
    """(department, the unit's words) when a 表扬 names exactly one unit (intake_rules.yaml
    praise_named_unit), else None."""
    if typ != "表扬" or not PRAISE_NAMED_UNIT:
        return None
    named = agency_cues(text)
    return next(iter(named.items())) if len(named) == 1 else None


def department_cues(text: str) -> dict[str, str]:
    """{department id: first matched words} for the normalised text."""
    out = {}
    for d, pat in DEPARTMENT_CUES.items():
        w = _cue(pat, text)
        if w:
            out[d] = w
    return out


TYPE_FEATURES: dict[str, re.Pattern] = {k: re.compile(p) for k, p in (_cfg.get("type_features") or {}).items()}


# a unit someone pretends to be (冒充电力公司的) is not the unit the caller blames
_IMPERSONATED = re.compile(r"(冒充|假冒|冒用|假装成?|自称是?)[^，。]{0,10}")


def type_features(text: str) -> dict[str, str]:
    """{org|blame|third|violation|party|conflict: matched words} (who did what; intake_rules.yaml)."""
    out = {}
    for k, pat in TYPE_FEATURES.items():
        m = pat.search(_IMPERSONATED.sub("冒充", text) if k == "org" else text)
        if m:
            out[k] = m.group(0)
    return out


def cue_tokens(text: str) -> list[str]:
    """Rule hits as model features (normalised text): department cues, the dispatch keyword
    rule, type cues, urgency rules and the not-now words."""
    toks = [f"#D:{d}" for d in department_cues(text)] + [f"#O:{d}" for d in agency_cues(text)]
    try:
        from workorders.dispatch import match_departments
        rule = match_departments(mask_landmarks(text))
        if rule is not None:
            toks.append(f"#K:{rule.lead}")
    except Exception:   # noqa: BLE001 - dispatch rules are optional here
        pass
    toks += [f"#T:{typ}" for typ, _, _ in type_cues(text)]
    toks += [f"#U:{r.code}" for r in DANGER_RULES + URGENT_RULES if r.search(text)]
    if not_now(text):
        toks.append("#N")
    tf = type_features(text)
    toks += [f"#A:{k}" for k in tf]
    if "org" in tf and "blame" in tf:
        toks.append("#A:org+blame")
    if "third" in tf and "violation" in tf:
        toks.append("#A:third+violation")
    if "party" in tf and "conflict" in tf:
        toks.append("#A:party+conflict")
    return toks


@lru_cache(maxsize=1)
def _sound_alike():
    from textnorm.pinyin import SoundAlike
    sa = _cfg.get("sound_alike") or {}
    return SoundAlike(sa.get("words") or (), int(sa.get("min_word_freq", 50)), sa.get("not_slips") or ())


_NORMALISED: dict[str, str] = {}


def normalise(text: str) -> str:
    """See _normalise; cached, and a normalised text maps to itself (classify normalises the
    same words several times: rules, model input, explanations)."""
    out = _NORMALISED.get(text)
    if out is None:
        out = _normalise(text)
        if len(_NORMALISED) > 8192:
            _NORMALISED.clear()
        _NORMALISED[text] = out
        _NORMALISED.setdefault(out, out)
    return out


def _normalise(text: str) -> str:
    """Text for analysis: no spaces, Chinese punctuation for sentence breaks, dialect words in
    standard Chinese (没得水 -> 没水, 冇电 -> 没电, 咋个办 -> 怎么办), recognition slips of the
    cue words repaired (停点 -> 停电, 一保 -> 医保; `sound_alike`)."""
    t = "".join(text.split())
    t = t.replace(",", "，").replace(";", "，").replace("；", "，").replace("!", "！").replace("?", "？")
    for a, b in DIALECT:
        if a in t:
            t = t.replace(a, b)
    t = standard_words(t)   # the words the bot and the emergency detector share (textnorm/dialect.yaml)
    return _sound_alike().repair(t) if _cfg.get("sound_alike") else t


def type_cues(text: str) -> list[tuple[str, str, str]]:
    """[(type, matched words, reason)] in priority order, for the normalised text."""
    out = []
    for typ, pat, reason in TYPE_CUES:
        m = pat.search(text)
        if m:
            out.append((typ, m.group(0), reason))
    return out


def not_now(text: str) -> str | None:
    """The words showing the request is a proposal, question, praise or about the past, else None."""
    m = NOT_NOW.search(text)
    if m and "问" in m.group(0) and ASK_ON_BEHALF.search(text):
        return None   # "帮我问问什么时候来水" asks us to act
    return m.group(0) if m else None


# ------------------------------------------------------------------ urgency
# ------------------------------------------------------------------ emotion
ANGER = re.compile(
    r"到底(管不管|有没有人)|管不管|气死|太差|糊弄|不作为|骂|吼|凭什么|凭啥|啥道理|什么道理|一点(用|动静)都没|"
    r"一点动静|好几回|好几次|[三四五六七八九十几]+(遍|回|趟)|乱收费|乱七八糟|不认账|就是不|说了不听|说了也不听|"
    r"不听|没人管|没人来|也不管|都不管|不管[^，。]{0,2}$|废物|告你们|坐着不走|吃干饭|他妈|你妈|滚|傻|贪|跑路|骗子|"
    r"太过分|不像话|搞么子名堂|恶劣|到现在都没|一分钱[^，。]{0,4}(不给|都没|补偿都没)|没个说法|没个通知|啥通知都没有|"
    r"还挂|不耐烦|态度|送烟|强行|还说|拒载|闹得|打游戏|天天[^，。]{0,8}(泼|砸|吵)|熏得|臭得不得了|根本(没|不)|不公平|偏向|不服|"
    r"讨说法|反映[^，。]{0,3}(好几|多)|都在骂|还要动手|要我赔|没用")
ANXIETY = re.compile(
    r"怕|担心|怎么办|着急|急死|赶紧|快来|快派|救命|不敢|提心吊胆|危险|没吃的|困难|出人命|不晓得|还没|一直没|"
    r"没消息|求求|帮帮|看不见|冻得|冷得|睡不着|拉肚子|受伤|伤|哭|不能动|出不来|过不去|要淹|干死|一个人|没法|"
    r"走不了|快|不见了|找不到|吓|受不了|恐吓|没地方|误|会不会|是不是|咋回事|怎么回事|污染|有伤|"
    r"渗水|漏气|断了|冒火星|火花|打火|进水|没发|没到账|没拿到|超载|刺鼻|欺负|摔|掉进|耷拉")


def emotion(text: str) -> tuple[str, list[str]]:
    """(平静|焦虑|愤怒, cue words)."""
    anger = ANGER.findall(text) and [m.group(0) for m in ANGER.finditer(text)]
    if anger:
        return "愤怒", anger[:3]
    worry = [m.group(0) for m in ANXIETY.finditer(text)]
    if worry or re.search(r"[!！]{2,}", text):
        return "焦虑", worry[:3]
    return "平静", []


def urgency(text: str, emotion_label: str, is_emergency: bool) -> tuple[str, list[str]]:
    """(特急|紧急|一般, reasons in plain Chinese) by the published rules alone (intake_rules.yaml).

    classify() combines this with the trained model (see classify._decide_urgency)."""
    level, reasons, _ = urgency_rules(normalise(text), emotion_label, is_emergency)
    return level, reasons


def decisive_urgent(t: str) -> Rule | None:
    """The 紧急 rule the published rules make decisive (a cut supply, wages owed) when it applies now."""
    if not_now(t) or PAST.search(t):
        return None
    return next((r for r in URGENT_RULES if r.code in DECISIVE_URGENT and r.search(t)), None)


def urgency_rules(t: str, emotion_label: str, is_emergency: bool) -> tuple[str, list[str], str | None]:
    """(level, reasons, not-now words) on normalised text."""
    if is_emergency:
        return "特急", ["属于紧急警情或急救，需立即转对应紧急电话"], None
    quiet = not_now(t)
    hits = [rule for rule in DANGER_RULES if rule.search(t)]
    if hits and {r.code for r in hits} <= OUTAGE_CODES and UTILITY_CUT.search(t) and not OUTAGE_DANGER.search(t):
        hits = []   # a cut wire or main that only cut the supply: an outage (紧急), not a danger
    if hits and NO_DANGER.search(t):
        hits = []   # "现在没啥危险，就是想请人来补上": a repair, not a danger happening now
    reasons = [rule.reason_zh for rule in hits]
    if reasons and not quiet:
        return "特急", reasons, None
    m = PAST.search(t)
    quiet = quiet or (m.group(0) if m else None)
    # the caller's anger alone does not raise urgency (published rules: 紧急 = basic needs cut or
    # many residents affected); it is shown as `emotion` instead
    reasons = [rule.reason_zh for rule in URGENT_RULES if rule.search(t)]
    if reasons and not quiet:
        return "紧急", reasons, None
    return "一般", [], quiet
