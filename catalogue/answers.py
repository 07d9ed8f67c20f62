"""Shape answers about one matter for voice (short spoken sentences) or chat (text + buttons).

Every sentence comes from a field of the matter; nothing is invented.  Aspects:
overview, materials, fee, time, where, online, proxy, eligibility.
"""
from __future__ import annotations

import json
import re

from catalogue.search import _cn_number

ASPECTS = ("overview", "materials", "fee", "time", "where", "online", "proxy", "eligibility")
# Intent name -> aspect (the NLU intents of bot/domain/catalogue.yml).
INTENT_ASPECT = {
    "ask_matter": "overview", "ask_materials": "materials", "ask_fee": "fee", "ask_time": "time",
    "ask_where": "where", "ask_online": "online", "ask_proxy": "proxy", "ask_eligibility": "eligibility",
}
ASPECT_INTENT = {v: k for k, v in INTENT_ASPECT.items()}
ASPECT_TITLES = {
    "overview": "怎么办", "materials": "带什么材料", "fee": "要多少钱", "time": "多久办好",
    "where": "去哪办", "online": "能不能网上办", "proxy": "能不能代办", "eligibility": "谁能办",
}
OFFER_MATERIALS = "要不要我一条一条说材料？"
OFFER_REGISTER = "需要我帮您登记/预约吗？"
OFFER_REGISTER_VOICE = "需要我帮您登记预约吗？"
_END = "。！？；"


def _sentence(text: str) -> str:
    text = (text or "").strip()
    return text if not text or text[-1] in _END else text + "。"


def _item(item: dict) -> str:
    text = item["name"]
    if item.get("note"):
        text += f"（{item['note']}）"
    if item.get("optional"):
        text += "，没有也可以"
    return text


def _fee(matter: dict) -> str:
    fee = matter["fee"]
    yuan, text = fee.get("yuan"), fee["text"].strip()
    if yuan == 0 and text in ("免费", "不收费", "0元"):
        return "不收费。"
    if isinstance(yuan, (int, float)) and yuan > 0 and text.rstrip("。") in (f"{yuan:g}元", f"{yuan:g}块"):
        return f"要交{yuan:g}元。"
    return _sentence(f"费用：{text}")


def _where(matter: dict) -> str:
    text = matter["where"]["text"].strip()
    return _sentence(text if text.startswith(("到", "在", "去")) else f"到{text}办")


def _online(matter: dict) -> str:
    online = matter["online"]
    out = _sentence(online["text"])
    if online.get("available") and online.get("where") and online["where"] not in online["text"]:
        out += _sentence(f"网上办的地方：{online['where']}")
    return out


def fact_sentences(matter: dict, aspect: str) -> list[str]:
    """The facts for one aspect, most important first, one per sentence."""
    if aspect == "materials":
        items = matter["materials"]["items"]
        if not items:
            return ["不用带材料。"]
        count = "两" if len(items) == 2 else _cn_number(len(items))
        out = [f"要带{count}样。"]
        out += [f"第{_cn_number(i)}，{_item(it)}。" for i, it in enumerate(items, 1)]
        return out
    if aspect == "fee":
        return [_fee(matter)]
    if aspect == "time":
        return [_sentence(f"办理时间：{matter['time_limit']['text']}")]
    if aspect == "where":
        return [_where(matter)]
    if aspect == "online":
        return [_online(matter)]
    if aspect == "proxy":
        return [_sentence(matter["proxy"]["text"])]
    if aspect == "eligibility":
        return [_sentence(f"谁能办：{matter['eligibility']['text']}")]
    # overview: what it is, where, cost, time; materials are offered separately.
    return [_sentence(matter["summary"]), _where(matter), _fee(matter),
            _sentence(f"办理时间：{matter['time_limit']['text']}")]


def voice_answer(matter: dict, aspect: str = "overview") -> str:
    """Short spoken sentences; ends with one offer (materials, else registration)."""
    from textnorm.speech import spoken_len, voice_sentences

    aspect = aspect if aspect in ASPECTS else "overview"
    parts = fact_sentences(matter, aspect)
    if aspect == "overview":
        # on the phone: what it is and what it costs; where and how long come with the next offer
        first = re.split(r"(?<=[。；;])", _sentence(matter["summary"]))[0].rstrip("；;")
        parts = [f"{matter['name']}。", first if first.endswith("。") else first + "。", _fee(matter)]
    elif aspect == "materials":
        parts = parts[:4]
        if len(parts) == 4 and spoken_len(parts[0] + parts[1]) <= 40:
            # three sentences before the offer on the phone: "要带三样，第一，…。"
            parts = [parts[0].rstrip("。") + "，" + parts[1]] + parts[2:]
    if aspect != "materials" and matter["materials"]["items"]:
        parts.append(OFFER_MATERIALS)
    elif matter.get("registrable"):
        parts.append(OFFER_REGISTER_VOICE)

    said = voice_sentences("".join(parts[:-1] if parts and parts[-1] in (OFFER_MATERIALS, OFFER_REGISTER_VOICE)
                               else parts))
    offer = parts[-1] if parts and parts[-1] in (OFFER_MATERIALS, OFFER_REGISTER_VOICE) else ""
    if offer and aspect == "overview":
        said = said[:2] + [s for s in said[2:] if re.search(r"元|免费|不收费", s)][:1]  # what, and the cost
    return "".join(said) + offer


def aspect_payload(matter_id: str, aspect: str) -> str:
    return f"/{ASPECT_INTENT[aspect]}" + json.dumps({"matter": matter_id}, ensure_ascii=False)


def chat_answer(matter: dict, aspect: str = "overview", catalogue=None) -> dict:
    """{"text": structured text, "buttons": [{"title", "payload"}]} for chat channels."""
    aspect = aspect if aspect in ASPECTS else "overview"
    lines = [f"【{matter['name']}】"]
    if aspect == "overview":
        lines += [matter["summary"].strip(),
                  f"办理地点：{matter['where']['text']}",
                  f"费用：{matter['fee']['text']}",
                  f"办理时间：{matter['time_limit']['text']}",
                  f"网上办理：{matter['online']['text']}"]
        items = matter["materials"]["items"]
        if items:
            lines.append("所需材料：")
            lines += [f"{i}. {_item(it)}" for i, it in enumerate(items, 1)]
        lines.append("办理步骤：")
        lines += [f"{i}. {s}" for i, s in enumerate(matter["steps"]["items"], 1)]
    elif aspect == "materials":
        items = matter["materials"]["items"]
        lines.append("所需材料：" if items else "不用带材料。")
        lines += [f"{i}. {_item(it)}" for i, it in enumerate(items, 1)]
    else:
        lines += fact_sentences(matter, aspect)
    if matter.get("registrable"):
        lines.append(OFFER_REGISTER)
    buttons = [{"title": ASPECT_TITLES[a], "payload": aspect_payload(matter["id"], a)}
               for a in ("materials", "fee", "where", "time", "online", "proxy") if a != aspect]
    if catalogue is not None:
        for rel in matter.get("related", [])[:2]:
            other = catalogue.get(rel)
            if other:
                buttons.append({"title": other["name"], "payload": aspect_payload(rel, "overview")})
    return {"text": "\n".join(lines), "buttons": buttons}
