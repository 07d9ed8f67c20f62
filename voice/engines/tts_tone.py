"""A test double voice: a tone whose length follows the text and the rate (no espeak needed).
Output: (pcm16 mono, 16 kHz)."""
from __future__ import annotations

from voice.engines.tts import OUT_RATE, TTSEngine


class ToneTTS(TTSEngine):
    """Test double: a tone whose length follows the text (no espeak needed)."""

    name = "tone"

    def synthesize(self, text: str, rate: int) -> tuple[bytes, int]:
        import numpy as np

        n = int(OUT_RATE * 0.03 * max(1, len(text)) * 130 / max(rate, 1))
        t = np.arange(n) / OUT_RATE
        return (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2").tobytes(), OUT_RATE
