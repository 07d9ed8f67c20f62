"""NLU safety net: explicit emergency wording always wins over the statistical model.

The bot must never keep an emergency caller in a form or a fallback loop, so after
DIET and the FallbackClassifier this component checks the text against the same
interpretable rules the 12345 intake uses (workorders/classify_rules.py, one source)
and, on a match, sets the emergency intent with confidence 1.0.
"""
from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

INTENT_BY_NUMBER = {
    "119": "emergency_fire",
    "120": "emergency_medical",
    "110": "emergency_police",
    "122": "emergency_traffic",
}


def emergency_intent(text: str) -> str | None:
    from workorders.classify_rules import emergency

    found = emergency(text or "")
    return INTENT_BY_NUMBER[found[0]] if found else None


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class EmergencyOverride(GraphComponent):
    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "EmergencyOverride":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not text or text.startswith("/"):  # payloads like /call_start are exact already
                continue
            intent = emergency_intent(text)
            if intent is None:
                continue
            ranking = [r for r in (message.get(INTENT_RANKING_KEY) or []) if r.get("name") != intent]
            message.set(INTENT, {"name": intent, "confidence": 1.0}, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [{"name": intent, "confidence": 1.0}] + ranking,
                        add_to_output=True)
        return messages
