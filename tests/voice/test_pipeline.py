"""Call logic with a scripted bot: DTMF keying, key 0, elderly/failure offers, Rasa down, speech rate."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from voice.config import VoiceConfig
from voice.engines.tts import TTSService
from voice.frontend import Frontend
from voice.pipeline import HANDOFF_TEXT, CallSession, CallSink
from clients.rasa import RasaUnavailable
from voice.services import CallRegistry


class ScriptedBot:
    def __init__(self, answers=None, down=False, slots=None):
        self.answers = answers or {}
        self.down = down
        self.slots = slots or {}
        self.got: list[tuple[str, str, dict]] = []

    async def send(self, sender, text, metadata):
        self.got.append((sender, text, metadata))
        if self.down:
            raise RasaUnavailable("connection refused")
        return [{"text": t} if isinstance(t, str) else {"custom": t}
                for t in self.answers.get(text, ["不好意思，我没听明白。"])]

    async def tracker(self, sender):
        return {"slots": self.slots}


class Sink(CallSink):
    def __init__(self):
        self.frames = 0
        self.events: list[dict] = []
        self.closed_with: bool | None = None

    async def send_audio(self, frame):
        self.frames += 1

    async def send_event(self, event):
        self.events.append(event)

    async def close(self, handoff=False):
        self.closed_with = handoff


def services(bot):
    cfg = VoiceConfig()
    cfg.reprompt_s = 3600
    return SimpleNamespace(config=cfg, rasa=bot, registry=CallRegistry(), frontend=Frontend(enabled=True),
                           tts=TTSService("tone"))


async def test_keyed_digits_are_sent_and_zero_inside_a_number_is_a_digit():
    bot = ScriptedBot({"13800138000": ["好的，记下了。"]})
    session = CallSession(services(bot), "c1", Sink(), caller="13900139000")
    await session.start(send_call_start=False)
    for d in "13800138000#":
        await session.push_dtmf(d)
    await asyncio.sleep(0.2)
    assert bot.got[-1][1] == "13800138000"
    assert bot.got[-1][0].startswith("tel-")            # caller_key of the caller number
    assert bot.got[-1][2]["channel"] == "voice" and bot.got[-1][2]["caller"] == "13900139000"
    assert not session.record.handoff
    await session.hangup()


async def test_key_zero_hands_off_and_ends_the_call():
    bot = ScriptedBot()
    sink = Sink()
    session = CallSession(services(bot), "c2", sink)
    await session.start(send_call_start=False)
    await session.push_dtmf("0")
    for _ in range(100):
        if sink.closed_with is not None:
            break
        await asyncio.sleep(0.1)
    assert sink.closed_with is True and session.record.handoff_reason == "dtmf_0"
    assert bot.got[0][1] == "/request_human"
    assert any(e["type"] == "bot" and e["text"] == HANDOFF_TEXT for e in sink.events)
    assert sink.frames > 10


async def test_elderly_caller_is_offered_a_person_first():
    bot = ScriptedBot({"我七十多岁了，想办低保": ["好的，低保要带户口本。"]})
    session = CallSession(services(bot), "c3", Sink())
    res = await session.handle_text("我七十多岁了，想办低保")
    assert "转人工" in res.texts[0] and "低保" in res.texts[1]


async def test_two_failures_offer_a_person():
    bot = ScriptedBot()
    session = CallSession(services(bot), "c4", Sink())
    first = await session.handle_text("呜呜呜")
    second = await session.handle_text("啊啊啊")
    assert not any("按0" in t for t in first.texts)
    assert "按0" in second.texts[0]


async def test_rasa_down_gives_apology_and_handoff():
    bot = ScriptedBot(down=True)
    session = CallSession(services(bot), "c5", Sink())
    res = await session.handle_text("你好")
    assert res.handoff and res.end_call and res.error == "bot_unavailable"
    assert res.texts[0].startswith("抱歉") and res.texts[-1] == HANDOFF_TEXT


async def test_slow_speech_rate_comes_from_the_tracker():
    bot = ScriptedBot({"说慢点": ["好的，我说慢一点。"]}, slots={"speech_rate": "slow"})
    session = CallSession(services(bot), "c6", Sink())
    assert session.rate_wpm() == 130
    await session.handle_text("说慢点")
    assert session.speech_rate == "slow" and session.rate_wpm() == 100
    await session.handle_text("说慢点")
    assert bot.got[-1][2]["speech_rate"] == "slow"


async def test_handoff_custom_message_from_the_bot():
    bot_sentence = "好的，马上为您转接人工。"  # the bot's own words (utter_handoff) are said, once, not the gateway's
    bot = ScriptedBot({"转人工": [bot_sentence, {"event": "handoff", "reason": "user_request"}]})
    session = CallSession(services(bot), "c7", Sink())
    res = await session.handle_text("转人工")
    assert res.handoff and session.record.handoff_reason == "user_request"
    assert res.texts == [bot_sentence]


async def test_silence_reprompts_then_offers_a_person_then_says_goodbye():
    from voice.pipeline import GOODBYE_TEXT, OFFER_PERSON_TEXT, REPROMPT_TEXT

    bot = ScriptedBot()
    svc = services(bot)
    svc.config.reprompt_s = 0.3
    sink = Sink()
    session = CallSession(svc, "c8", sink)                 # streaming: VAD + silence watchdog
    await session.start(send_call_start=False)
    for _ in range(300):                                   # up to ~15 s on a loaded machine
        await session.push_audio(b"\x00" * 640)           # 20 ms of line silence
        await asyncio.sleep(0.05)
        if sink.closed_with is not None:
            break
    said = [e["text"] for e in sink.events if e["type"] == "bot"]
    assert said[:4] == [REPROMPT_TEXT, REPROMPT_TEXT, OFFER_PERSON_TEXT, GOODBYE_TEXT]
    assert sink.closed_with is False                      # ended, not a hand-off
