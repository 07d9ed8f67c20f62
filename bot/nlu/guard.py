"""First component of the NLU pipeline: a message is cut to MAX_CHARS before anything parses it.

Tokenizing, featurizing and DIET cost memory that grows with the square of the message
length (50,000 characters took 20 GB). Channels refuse long messages with a Chinese
sentence (connectors/resilient_rest.py, the edge's body limit); this is the last bound for
any path that reaches the model (HTTP API, future channels). The caller's own words are kept
whole in the tracker; only what the model reads is cut.
"""
from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

MAX_CHARS = 500


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False)
class MessageLengthGuard(GraphComponent):
    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "MessageLengthGuard":
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str) and len(text) > MAX_CHARS:
                message.set(TEXT, text[:MAX_CHARS])
        return messages
