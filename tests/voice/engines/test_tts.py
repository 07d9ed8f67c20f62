"""TTS service: non-silent audio of plausible duration, slow rate, cache, prompts."""
import asyncio
import shutil

import numpy as np
import pytest

from voice.audio import wav_bytes
from voice.engines.tts import TTSService, prompt_key, split_sentences

pytestmark = pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng not installed")


def test_split_sentences():
    assert split_sentences("您好！我是助手。能帮您登记，也能查进度。") == ["您好！", "我是助手。", "能帮您登记，也能查进度。"]


async def test_tts_audio_is_speech_like(tmp_path):
    tts = TTSService("espeak", cache_dir=tmp_path / "cache", prompts_dir=tmp_path / "prompts")
    text = "好的，马上为您转接人工服务。"  # 13 syllables
    pcm = await tts.synthesize(text, 130)
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    seconds = len(x) / 16000
    assert 2.0 < seconds < 12.0
    assert np.sqrt(np.mean(x ** 2)) > 300        # not silence
    slow = await tts.synthesize(text, 100)
    assert len(slow) > len(pcm) * 1.15           # slower rate -> longer audio
    again = await tts.synthesize(text, 130)
    assert again == pcm and tts.stats["memory"] >= 1
    tts.close()


async def test_prerecorded_prompt_wins(tmp_path):
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    text = "您还在吗？"
    tone = (np.sin(np.arange(8000) / 8000 * 2 * np.pi * 300) * 8000).astype("<i2").tobytes()
    (prompts / f"{prompt_key(text)}.wav").write_bytes(wav_bytes(tone, 8000))
    tts = TTSService("espeak", cache_dir=None, prompts_dir=prompts)
    pcm = await tts.synthesize(text, 130)
    assert len(pcm) == 32000                      # 1 s resampled to 16 kHz
    assert tts.stats["prompt"] == 1
    tts.close()
