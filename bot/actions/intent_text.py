"""Plain-Chinese descriptions of intents for the fallback's "您是想问……吗？".

Used by bot.actions.core.describe_intent for the catalogue's intents (the core ones are in
bot.actions.core.INTENT_DESCRIPTIONS).
"""
from __future__ import annotations

from rasa_sdk import Tracker

from catalogue.loader import load_catalogue
from catalogue.search import short_label

# {x} = the matter as the caller would say it ("补办身份证"), or a generic word.
MATTER_INTENTS = {
    "ask_matter": ("怎么{x}", "怎么办一件事"),
    "ask_materials": ("{x}要带什么材料", "办事要带什么材料"),
    "ask_fee": ("{x}要多少钱", "办事要多少钱"),
    "ask_time": ("{x}要多久", "办事要多久"),
    "ask_where": ("{x}去哪里办", "办事去哪里"),
    "ask_online": ("{x}能不能网上办", "能不能网上办"),
    "ask_proxy": ("{x}能不能找人代办", "能不能找人代办"),
    "ask_eligibility": ("什么人能{x}", "办事要什么条件"),
}


def _matter_label(tracker: Tracker) -> str | None:
    try:
        catalogue = load_catalogue(strict=False)
    except Exception:  # noqa: BLE001 - description is best effort
        return None
    message = tracker.latest_message or {}
    candidates = [e.get("value") for e in message.get("entities") or [] if e.get("entity") == "matter"]
    candidates.append(tracker.get_slot("matter"))
    for mid in candidates:
        matter = catalogue.get(str(mid or ""))
        if matter:
            return short_label(matter)
    return None


def describe(intent: str | None, tracker: Tracker) -> str | None:
    if not intent:
        return None
    if intent in MATTER_INTENTS:
        with_matter, generic = MATTER_INTENTS[intent]
        label = _matter_label(tracker)
        return with_matter.format(x=label) if label else generic
    return None
