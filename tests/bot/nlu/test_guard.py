"""The NLU guard: a greeting in front of a request is dropped, a greeting with an opener is kept."""
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.guard import MessageLengthGuard


def _read(text: str) -> str:
    message = Message({"text": text})
    MessageLengthGuard().process([message])
    return message.get("text")


def test_greeting_in_front_of_a_request_is_dropped():
    assert _read("喂，你好，我身份证丢了") == "我身份证丢了"


def test_greeting_with_only_an_opener_stays_a_greeting():
    assert _read("你好，我想问个事") == "你好，我想问个事"
