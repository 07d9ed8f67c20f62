"""Flow specs (bot/actions/flow_specs.yaml) + catalogue facts rendered into sentences.

A spec says which questions to ask; every fact in a sentence is a {alias.field}
placeholder filled from the catalogue at run time (one source of truth).
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from catalogue.loader import load_catalogue
from catalogue.search import search

SPEC_PATH = Path(__file__).with_name("flow_specs.yaml")
QUESTION_SLOTS = ("flow_q1", "flow_q2", "flow_q3")
GENERIC = "generic"   # a registrable matter without its own flow: registered as it is
FOR_WHOM_LABELS = {"self": "您本人", "parent": "老人", "spouse": "您爱人", "child": "孩子",
                   "relative": "家里人", "other": "别人"}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\.([a-z_]+)\}")
# "上回打电话补身份证，已经拿到了": a request made before (done, or asked about), not a new one;
# the flows (no start on mention) and the NLU (no new registration request) both read it
TOLD_BEFORE = re.compile(r"(上回|上次|上一回|之前|前些天|前几天|上个月|上礼拜|上星期|上周)[^，。？?]{0,12}"
                         r"(登记|打电话|打过电话|申请|报了|反映)|已经(拿到|办好|领到|批下来|下来了|到手|打到)")


@lru_cache(maxsize=1)
def load_specs() -> dict:
    data = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return data


def flows() -> dict[str, dict]:
    return load_specs()["flows"]


def spec(flow_id: str | None) -> dict | None:
    if flow_id == GENERIC:
        return load_specs()["generic"]
    return flows().get(flow_id or "")


def common(key: str):
    return load_specs()["common"][key]


def asks() -> dict:
    return load_specs()["asks"]


def say(domain: dict, response: str, /, **values) -> str:
    """The words of domain `response` (its first variation), placeholders filled: for sentences
    composed from several responses (the form's, the fallback's guess), read rather than uttered by name."""
    return domain["responses"][response][0]["text"].format(**values)


def ask_event(slot: str, tracker=None, entry: dict | None = None) -> dict:
    """The custom payload that marks a question: {"event": "ask", "key", "expect", "rate"}."""
    entry = entry or asks().get(slot) or {"key": slot, "expect": "free"}
    rate = (tracker.get_slot("speech_rate") if tracker is not None else None) or "normal"
    return {"event": "ask", "key": entry["key"], "expect": entry["expect"], "rate": rate}


def question_expect(kind: str) -> str:
    return load_specs()["question_expect"].get(kind, "free")


def label(kind: str, value: str | None) -> str | None:
    """The Chinese word for a code (common.labels): label('reason', 'lost') -> 丢失."""
    if value is None:
        return None
    return (common("labels").get(kind) or {}).get(value, value)


def voice_sentences(text: str, keep: int = 2) -> str:
    """Facts for the phone: one per sentence (commas become full stops), sentences of at most
    ~40 characters, at most `keep` of them (the rest stays for chat, the SMS and questions)."""
    parts = [p for p in re.split(r"[，。；;！!]", text or "") if p.strip()]
    out: list[str] = []
    for p in parts:
        p = p.strip()
        if len(p) > 40:  # split a long list at 、 into pieces of <= 40
            chunk = ""
            for item in p.split("、"):
                if chunk and len(chunk) + len(item) + 1 > 38:
                    out.append(chunk)
                    chunk = item
                else:
                    chunk = f"{chunk}、{item}" if chunk else item
            if chunk:
                out.append(chunk)
        else:
            out.append(p)
    return "".join(f"{p}。" for p in out[:keep])


def catalogue():
    return load_catalogue(strict=False)


def matter(flow_id: str) -> dict | None:
    s = spec(flow_id)
    return catalogue().get(s.get("matter") or "") if s else None


def _strip_end(text: str) -> str:
    return (text or "").strip().rstrip("。；;，,")


def fact(m: dict, field: str) -> str:
    """One field of a matter as a plain phrase (no trailing full stop)."""
    if field == "materials":
        return "、".join(it["name"] for it in m["materials"]["items"] if not it.get("optional")
                        and it["name"] != "本人到场") or "不用带材料"
    if field == "related":
        cat = catalogue()
        names = [cat.get(r)["name"] for r in m.get("related", []) if cat.get(r)]
        return "、".join(names)
    if field == "steps":
        return "；".join(m["steps"]["items"])
    if field in ("name", "summary"):
        return _strip_end(m[field])
    key = {"time": "time_limit"}.get(field, field)
    value = m.get(key)
    if field == "online" and isinstance(value, dict) and value.get("available") and value.get("where") \
            and value["where"] not in value.get("text", ""):
        return f"{_strip_end(value.get('text', ''))}：{_strip_end(value['where'])}"   # where: 微信、支付宝…
    if isinstance(value, dict):
        return _strip_end(value.get("text", ""))
    raise KeyError(field)


def render(flow_id: str, template: str | None) -> str:
    """Fill {alias.field} from the catalogue; alias 'matter' = the flow's matter."""
    if not template:
        return ""
    s = spec(flow_id) or {}
    cat = catalogue()
    aliases = {"matter": s.get("matter"), **(s.get("uses") or {})}

    def sub(match: re.Match) -> str:
        m = cat.get(aliases.get(match.group(1), ""))
        if m is None:
            return ""
        return fact(m, match.group(2))

    text = _PLACEHOLDER.sub(sub, template)
    text = re.sub(r"[，。]{2,}", lambda x: x.group(0)[-1], text)
    return text.replace("。。", "。")


def text_of_flow(s: dict, text: str) -> str:
    """The text with the flow's not_within words cut out (过身 of 办过身份证 is no death)."""
    for word in s.get("not_within") or ():
        text = text.replace(word, "，")
    return text


def _trigger_scores(text: str) -> tuple[dict[str, int], dict[str, int]]:
    """({flow: longest trigger word said}, {flow: best trigger_all match}) for the text."""
    whole = re.sub(r"\s+", "", text or "")
    whole_plain = re.sub(r"(办|补|换|领|上|整|弄|搞)(一?个|一?张|一下|了)", r"\1", whole)  # 办个身份证 -> 办身份证
    direct: dict[str, int] = {}
    combined: dict[str, int] = {}
    for fid, s in flows().items():
        compact, plain = text_of_flow(s, whole), text_of_flow(s, whole_plain)
        for word in s.get("triggers", []):
            if word in compact or word in plain:
                direct[fid] = max(direct.get(fid, 0), len(word))
        if any(w in compact for w in s.get("unless") or ()):
            continue   # the situation is background here (a death years ago)
        for groups in s.get("trigger_all") or []:
            hits = [max((len(w) for w in group if w in compact or w in plain), default=0) for group in groups]
            if groups and all(hits):
                combined[fid] = max(combined.get(fid, 0), sum(hits))
    return direct, combined


def flow_trigger(text: str) -> str | None:
    """The flow whose trigger words the caller said (triggers, else every group of trigger_all).
    A flow said together with one it lists in prefer_over wins ("身份证到期，换紧新嘅，想整张临时嘅":
    the temporary card is what is wanted while the new one is made)."""
    direct, combined = _trigger_scores(text)
    scores = direct or combined
    if not scores:
        return None
    best = max(scores, key=lambda fid: scores[fid])
    said = set(direct) | set(combined)
    for fid in said:
        if best in (flows()[fid].get("prefer_over") or ()):
            return fid
    return best


def flow_of(matter_id: str | None) -> str | None:
    """The flow that registers `matter_id`, if any."""
    return next((fid for fid, s in flows().items() if matter_id and s["matter"] == matter_id), None)


def in_context(flow: str | None, context: str | None) -> str | None:
    """`flow`, unless the matter being talked about (`context`) has a flow that lists it in prefer_over:
    then that one ("临时身份证…" then "没得身份证银行不给取钱" is still the temporary card)."""
    mine = flow_of(context)
    if flow and mine and flow in (flows()[mine].get("prefer_over") or ()):
        return mine
    return flow


def preferred_over(matter: str, other: str) -> bool:
    """The flow of `matter` lists the flow of `other` in prefer_over (the temporary card while a card
    is renewed): said together, it wins whatever the ranking."""
    mine, theirs = flow_of(matter), flow_of(other)
    return bool(mine and theirs and theirs in (flows()[mine].get("prefer_over") or ()))


def flows_said(text: str) -> set[str]:
    """Every flow whose trigger words (or every group of one trigger_all) the text holds."""
    direct, combined = _trigger_scores(text)
    return set(direct) | set(combined)


def pick_flow(text: str, matter_id: str | None = None, context: str | None = None) -> str | None:
    """The flow for what the caller said: trigger words first, then the matter id
    (entity or slot), then the catalogue search limited to matters with a flow. `context`: the
    matter being talked about, whose flow wins over the flows it lists in prefer_over when no
    trigger word names one (words said win)."""
    best = flow_trigger(text)
    if best:
        return best
    compact = re.sub(r"\s+", "", text or "")
    if matter_id and flow_of(matter_id):
        return in_context(flow_of(matter_id), context)
    if compact:
        by_matter = {s["matter"]: fid for fid, s in flows().items()}
        hits = search(compact, top_k=1)
        if hits and hits[0].matter_id in by_matter and hits[0].score > 0:
            return in_context(by_matter[hits[0].matter_id], context)
    return None


def min_age(flow_id: str, question: dict) -> int | None:
    """'满60周岁' / '80周岁以上' read from the catalogue field named in min_age_from."""
    field = question.get("min_age_from")
    m = matter(flow_id)
    if not field or m is None:
        return None
    text = fact(m, field)
    # "满60周岁"; "多数地方从80周岁起" is the usual threshold (a deployment overrides local practice)
    found = re.search(r"满(\d{2,3})\s*周岁|从(\d{2,3})\s*周岁起", text)
    return int(found.group(1) or found.group(2)) if found else None
