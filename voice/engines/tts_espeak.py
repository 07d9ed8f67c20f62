"""espeak-ng through pyttsx3 (the embedded default voice): Chinese text -> tone-numbered pinyin -> audio.

Debian 12's espeak-ng reads Chinese characters badly with its ``cmn`` voice; the usable voice is
``cmn-latn-pinyin`` fed with tone-numbered pinyin, so ``to_speech_pinyin`` converts the reply first
(numbers arrive already spelt out by textnorm.speakable; any digit left is read one by one, 1 as "幺").
pyttsx3 is blocking and not thread-safe: TTSService calls this engine from ONE worker thread.  If
pyttsx3 cannot start (no libespeak-ng), the espeak-ng command line is used.
Output: (pcm16 mono, espeak's sample rate).
"""
from __future__ import annotations

import itertools
import logging
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from voice.audio import read_wav
from voice.config import VoiceConfig
from voice.engines.tts import OUT_RATE, TTSEngine

log = logging.getLogger("voice.tts")

_DIGIT_PINYIN = {"0": "ling2", "1": "yao1", "2": "er4", "3": "san1", "4": "si4", "5": "wu3",
                 "6": "liu4", "7": "qi1", "8": "ba1", "9": "jiu3"}
_LETTER_PINYIN = {"x": "cha1", "X": "cha1"}
_PAUSE = {"，": ",", ",": ",", "、": ",", "：": ",", ":": ",", "。": ".", "！": ".", "!": ".",
          "？": "?", "?": "?", "；": ".", ";": "."}


def to_speech_pinyin(text: str) -> str:
    """Chinese text -> tone-numbered pinyin for espeak-ng's cmn-latn-pinyin voice.

    Digits are read one by one ("12345" -> yao1 er4 san1 si4 wu3); punctuation becomes
    a pause; quotes and brackets are dropped.
    """
    from pypinyin import Style, lazy_pinyin

    out: list[str] = []
    for chunk in re.findall(r"[\u3400-\u9fff]+|[0-9]|[A-Za-z]+|[，,、：:。！!？?；;]", text or ""):
        if chunk.isdigit():
            out.append(_DIGIT_PINYIN[chunk])
        elif chunk in _PAUSE:
            if out and out[-1] not in (",", ".", "?"):
                out.append(_PAUSE[chunk])
        elif chunk.isascii():
            out.append(" ".join(_LETTER_PINYIN.get(c, c.lower()) for c in chunk) if len(chunk) == 1 else chunk.lower())
        else:
            out.extend(lazy_pinyin(chunk, style=Style.TONE3, neutral_tone_with_five=True))
    return " ".join(out).replace(" ,", ",").replace(" .", ".").replace(" ?", "?")


class EspeakTTS(TTSEngine):
    """espeak-ng cmn-latn-pinyin through pyttsx3 (CLI fallback). Call from ONE thread only."""

    name = "espeak"
    VOICE = "cmn-latn-pinyin"

    def __init__(self, use_pyttsx3: bool = True):
        self._engine = None
        self._tmp = Path(tempfile.mkdtemp(prefix="govdesk-tts-"))
        self._seq = itertools.count()
        config = VoiceConfig()
        self._rate = config.tts_rate   # the normal voice (VOICE_TTS_RATE): the rate pyttsx3 keeps
        self.voice = self.VOICE + (f"+{config.tts_espeak_variant}" if config.tts_espeak_variant not in ("", "none") else "")
        self.driver = "cli"
        if use_pyttsx3:
            try:
                import pyttsx3

                engine = pyttsx3.init("espeak")
                engine.setProperty("voice", self.voice)
                engine.setProperty("rate", self._rate)
                self._engine = engine
                self.driver = "pyttsx3"
            except Exception as exc:  # noqa: BLE001 - no libespeak-ng: use the CLI
                log.warning("pyttsx3/espeak unavailable (%s); using the espeak-ng CLI", exc)
        if self._engine is None and not shutil.which("espeak-ng"):
            raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")

    def synthesize(self, text: str, rate: int) -> tuple[bytes, int]:
        spoken = to_speech_pinyin(text)
        if not spoken.strip(" ,.?"):
            return b"", OUT_RATE
        # A fresh file per call: pyttsx3 may finish an earlier, "failed" write late, and that
        # audio must never be taken for this text or rate.
        out = self._tmp / f"{threading.get_ident()}-{next(self._seq)}.wav"
        if self._engine is not None and rate == self._rate:
            # pyttsx3's espeak driver occasionally returns from runAndWait without having
            # written the file (seen on the first utterance after init): retry, then the CLI.
            # It speaks at the rate fixed at init only: under load it was seen to keep the old
            # rate after setProperty, so other rates (说慢点) go to the CLI, which takes -s.
            for _ in range(2):
                self._engine.save_to_file(spoken, str(out))
                self._engine.runAndWait()
                if out.exists() and out.stat().st_size > 44:
                    break
        if not out.exists() or out.stat().st_size <= 44:
            subprocess.run(["espeak-ng", "-v", self.voice, "-s", str(rate), "-w", str(out), spoken],
                           check=True, capture_output=True, timeout=30)
        data = out.read_bytes()
        out.unlink(missing_ok=True)
        return read_wav(data)
