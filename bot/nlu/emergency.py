"""NLU safety gate: emergencies become the emergency intent on every turn, inside forms too.

Runs last in the pipeline. `safety.emergency.detect` (one component with its own data,
safety/emergencies.yaml, shared with 12345 intake) decides; the model never does. On a match
the intent is set with confidence 1.0 and two entities are added:

- `emergency_kind` (fire, gas_leak, medical_breathing, ...): the domain picks the line of
  safety advice for that kind (a conditional response variation on the slot of that name);
- `emergency_number` (119/120/110/122): the line to ring.

Any emergency intent the model produced without the rules agreeing is withdrawn (it becomes
nlu_fallback), so a name or a place can never ring 120.
"""
from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.acts import set_intent

EMERGENCY_INTENTS = ("emergency_fire", "emergency_medical", "emergency_police", "emergency_traffic")


def emergency_intent(text: str) -> str | None:
    from safety.emergency import detect

    found = detect(text or "")
    return found.intent if found else None


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER,
                           DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class EmergencyOverride(GraphComponent):
    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "EmergencyOverride":
        from safety.emergency import rules

        rules()
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        from safety.emergency import detect

        for message in messages:
            text = message.get(TEXT)
            if not text or text.startswith("/"):  # payloads like /call_start are exact already
                continue
            found = detect(text)
            if found is None:
                if (message.get(INTENT) or {}).get("name") in EMERGENCY_INTENTS:
                    set_intent(message, "nlu_fallback")
                continue
            set_intent(message, found.intent)
            entities = [e for e in (message.get(ENTITIES) or [])
                        if e.get("entity") not in ("emergency_kind", "emergency_number", "matter")]
            for name, value in (("emergency_kind", found.kind), ("emergency_number", found.number)):
                entities.append({"entity": name, "value": value, "start": 0, "end": len(text),
                                 "confidence": 1.0, "extractor": type(self).__name__})
            message.set(ENTITIES, entities, add_to_output=True)
        return messages
