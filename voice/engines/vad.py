"""Voice activity detection for end-of-turn: Silero (ONNX, from faster-whisper) or energy.

A VAD object is per call (it keeps the recurrent state); the ONNX session is shared.
``process(pcm16_16k)`` returns one speech probability per 32 ms window (512 samples);
``EndOfTurn`` turns those into start-of-speech / end-of-turn decisions.
Silero costs ~0.1 ms per 32 ms window, so it runs inline in the event loop.
"""
from __future__ import annotations

import logging
import os
import threading

import numpy as np

log = logging.getLogger("voice.vad")
WINDOW = 512
RATE = 16000
WINDOW_MS = WINDOW * 1000 // RATE  # 32

_session = None
_session_lock = threading.Lock()


def _silero_session():
    global _session
    with _session_lock:
        if _session is None:
            from faster_whisper.utils import get_assets_path
            from faster_whisper.vad import SileroVADModel

            _session = SileroVADModel(os.path.join(get_assets_path(), "silero_vad_v6.onnx")).session
        return _session


class VAD:
    name = "base"

    def __init__(self):
        self._buf = b""

    def process(self, pcm: bytes) -> list[float]:
        self._buf += pcm
        n = len(self._buf) // (2 * WINDOW)
        out = []
        for i in range(n):
            chunk = np.frombuffer(self._buf[i * 2 * WINDOW:(i + 1) * 2 * WINDOW], dtype="<i2")
            out.append(self._prob(chunk.astype(np.float32) / 32768.0))
        self._buf = self._buf[n * 2 * WINDOW:]
        return out

    def _prob(self, x: np.ndarray) -> float:
        raise NotImplementedError

    def reset(self) -> None:
        self._buf = b""


class SileroVAD(VAD):
    name = "silero"

    def __init__(self):
        super().__init__()
        self.session = _silero_session()
        self.reset()

    def reset(self) -> None:
        super().reset()
        self.h = np.zeros((1, 1, 128), dtype=np.float32)
        self.c = np.zeros((1, 1, 128), dtype=np.float32)
        self.ctx = np.zeros(64, dtype=np.float32)

    def _prob(self, x: np.ndarray) -> float:
        inp = np.concatenate([self.ctx, x])[None]
        out, self.h, self.c = self.session.run(None, {"input": inp, "h": self.h, "c": self.c})
        self.ctx = x[-64:]
        return float(np.asarray(out).reshape(-1)[0])


class EnergyVAD(VAD):
    """Fallback: speech when the window is louder than an adaptive noise floor."""

    name = "energy"

    def __init__(self, margin_db: float = 12.0, floor_db: float = -50.0):
        super().__init__()
        self.margin = margin_db
        self.noise = floor_db

    def _prob(self, x: np.ndarray) -> float:
        db = 20 * np.log10(max(float(np.sqrt(np.mean(x * x))), 1e-6))
        if db < self.noise + self.margin:
            self.noise = 0.95 * self.noise + 0.05 * max(db, -70.0)
        return 1.0 if db > max(self.noise + self.margin, -45.0) else 0.0


def create_vad(name: str) -> VAD:
    if name == "silero":
        try:
            return SileroVAD()
        except Exception as exc:  # noqa: BLE001 - onnxruntime missing: degrade
            log.warning("Silero VAD unavailable (%s); using energy VAD", exc)
            return EnergyVAD()
    if name == "energy":
        return EnergyVAD()
    raise ValueError(f"unknown VAD {name!r} (VOICE_VAD_ENGINE=silero|energy)")


class EndOfTurn:
    """Speech start after `start_ms` of speech; end of turn after `end_ms` of silence."""

    def __init__(self, end_ms: int = 400, start_ms: int = 96, threshold: float = 0.5):
        self.end_windows = max(1, end_ms // WINDOW_MS)
        self.start_windows = max(1, start_ms // WINDOW_MS)
        self.threshold = threshold
        self.neg_threshold = max(threshold - 0.15, 0.05)
        self.in_speech = False
        self._speech_run = 0
        self._silence_run = 0

    @property
    def silence_ms(self) -> int:
        """Trailing silence inside the current speech turn."""
        return self._silence_run * WINDOW_MS if self.in_speech else 0

    def update(self, prob: float) -> str | None:
        """'start', 'end' or None for one window."""
        if not self.in_speech:
            self._speech_run = self._speech_run + 1 if prob >= self.threshold else 0
            if self._speech_run >= self.start_windows:
                self.in_speech = True
                self._silence_run = 0
                return "start"
            return None
        self._silence_run = self._silence_run + 1 if prob < self.neg_threshold else 0
        if self._silence_run >= self.end_windows:
            self.in_speech = False
            self._speech_run = 0
            return "end"
        return None
