"""First component of the NLU pipeline: a message is cut to MAX_CHARS before anything parses it.

Tokenizing, featurizing and DIET cost memory that grows with the square of the message
length (50,000 characters took 20 GB). Channels refuse long messages with a Chinese
sentence (connectors/resilient_rest.py, the edge's body limit); this is the last bound for
any path that reaches the model (HTTP API, future channels). The caller's own words are kept
whole in the tracker; only what the model reads is cut. A greeting in front of a request
("喂，你好，我身份证丢了") is dropped too, so the request is what is understood; a greeting
with only an opener after it ("你好，我想问个事", "你好，打扰一下") is the greeting itself
(bot/nlu/acts.yaml says so) and stays whole.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.acts import classify

MAX_CHARS = 500
# "喂，你好，我身份证丢了" / "侬好，阿拉…": a greeting in front of a request is not the request.
# The model reads what follows (the caller's own words stay whole in the tracker's event).
LEADING_GREETING = re.compile(
    r"^(?:(?:喂+|哎+|嗯+|那个|你好+|您好|侬好|雷猴|你好呀|你好啊|在吗|在不在|有人吗|同志|师傅|姑娘|小姑娘|领导|"
    r"是12345吗|是政府[^，。？?]{0,3}[吗伐]|是热线吗|能听着不|听得见吗|听得到吗|喂喂)[，,。.！!？?\s]*)+(?=[^，,。.！!？?\s]{4,})")


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
            if not isinstance(text, str):
                continue
            if len(text) > MAX_CHARS:
                text = text[:MAX_CHARS]
            if not text.startswith("/") and classify(text) != "greet":
                text = LEADING_GREETING.sub("", text)
            if text != message.get(TEXT):
                message.set(TEXT, text)
        return messages
