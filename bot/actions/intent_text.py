"""Plain-Chinese descriptions of intents for the fallback's "您是想问……吗？" (utter_did_you_mean).

The words are domain responses read by name: utter_intent_<intent> (core intents, bot/domain/core.yml;
catalogue intents, bot/domain/catalogue.yml, with {matter} = the matter as the caller would say it,
"补办身份证", and utter_intent_<intent>_any when no matter is known).
"""
from __future__ import annotations

from rasa_sdk import Tracker

from bot.actions.flow_specs import say
from catalogue.loader import load_catalogue
from catalogue.search import short_label


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


def describe(intent: str | None, tracker: Tracker, domain: dict) -> str | None:
    """The intent in plain words, or None when the domain has none for it."""
    responses = domain.get("responses") or {}
    name = f"utter_intent_{intent}"
    if not intent or name not in responses:
        return None
    if f"{name}_any" not in responses:
        return say(domain, name)
    label = _matter_label(tracker)
    return say(domain, name, matter=label) if label else say(domain, f"{name}_any")
