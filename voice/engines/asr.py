"""Speech recognition engines behind one interface, plugged into SpeechRecognition.

Every engine takes a ``speech_recognition.AudioData`` and ``Hints`` (what the bot
is waiting for) and returns an ``ASRResult``.  ``register_with_speech_recognition``
adds ``Recognizer.recognize_govdesk(audio_data, **hints)`` so callers can use the
familiar SpeechRecognition API; unlike ``recognize_faster_whisper`` (which loads
the model on every call) our engine keeps ONE loaded model shared by all calls.

Engines: ``whisper`` (faster-whisper / CTranslate2, int8); another engine is a subclass of
``ASREngine`` added to ``create_engine`` - see
voice/README.md).  Chosen by VOICE_ASR_ENGINE.
"""
from __future__ import annotations

import logging
import re
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import speech_recognition as sr

from common.settings import env_float

log = logging.getLogger("voice.asr")

RATE = 16000


@dataclass
class Hints:
    """Context biasing for one utterance."""
    prompt: str | None = None          # Whisper initial_prompt (previous context)
    hotwords: str | None = None        # Whisper hotwords


@dataclass
class ASRResult:
    text: str
    no_speech_prob: float = 0.0
    avg_logprob: float = 0.0
    seconds: float = 0.0
    engine: str = ""
    extra: dict = field(default_factory=dict)


def to_audio_data(pcm16: bytes, rate: int = RATE) -> sr.AudioData:
    return sr.AudioData(pcm16, rate, 2)


def _pcm_of(audio: sr.AudioData) -> np.ndarray:
    raw = audio.get_raw_data(convert_rate=RATE, convert_width=2)
    return np.frombuffer(raw[: len(raw) - len(raw) % 2], dtype="<i2").astype(np.float32) / 32768.0


class ASREngine:
    name = "base"

    def transcribe(self, audio: sr.AudioData, hints: Hints | None = None,
                   beam_size: int | None = None) -> ASRResult:
        raise NotImplementedError

    def score(self, audio: sr.AudioData, candidates: list[str]) -> list[float] | None:
        """Mean log-probability of each candidate transcript (None: not supported)."""
        return None

    def warm_up(self) -> None:
        pass


_t2s = None


def to_simplified(text: str) -> str:
    global _t2s
    if _t2s is None:
        from opencc import OpenCC
        _t2s = OpenCC("t2s")
    return _t2s.convert(text)


class WhisperEngine(ASREngine):
    """faster-whisper model loaded once; CTranslate2 encoder on the real audio length.

    faster-whisper pads every segment to 30 s before the encoder; for a 2 s phone
    utterance that is ~15x the work.  CTranslate2's Whisper accepts shorter inputs,
    so we encode the utterance plus a short silence pad and decode greedily (beam
    configurable) - about 0.2 s instead of 1.1 s per turn on 2 cores.
    """

    name = "whisper"

    def __init__(self, model_dir: str | Path, beam_size: int = 1, cpu_threads: int = 2,
                 pad_s: float = 1.0, language: str = "zh", min_window_s: float = 8.0):
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer

        self.model_dir = str(model_dir)
        self.beam_size = max(1, beam_size)
        self.pad_s = pad_s
        self.min_window_s = min_window_s
        self.model = WhisperModel(self.model_dir, device="cpu", compute_type="int8", cpu_threads=cpu_threads)
        self.tokenizer = Tokenizer(self.model.hf_tokenizer, self.model.model.is_multilingual,
                                   task="transcribe", language=language)
        from faster_whisper.transcribe import get_suppressed_tokens
        self.suppress = get_suppressed_tokens(self.tokenizer, (-1,))
        self._lock = threading.Lock()  # one inference at a time on the shared model
        self.decode_options: dict = {}

    def _features(self, x: np.ndarray, min_window_s: float | None = None) -> tuple[np.ndarray, int]:
        # Pad with silence to at least `min_window_s`: on very short windows Whisper does not
        # see where speech ends and loops ("林使身犯政怎么办林?林使身犯").
        window = self.min_window_s if min_window_s is None else min_window_s
        total = max(x.size + int(self.pad_s * RATE), int(window * RATE))
        x = np.concatenate([x, np.zeros(total - x.size, dtype=np.float32)])
        feats = self.model.feature_extractor(x)
        # Cap at 30 s (the model's positional embedding length).
        feats = feats[:, :3000]
        return np.ascontiguousarray(feats, dtype=np.float32), feats.shape[1]

    def _prompt(self, hints: Hints | None) -> list[int]:
        previous = []
        if hints and hints.prompt:
            previous = self.tokenizer.encode(" " + hints.prompt.strip())[-100:]
        return self.model.get_prompt(self.tokenizer, previous, without_timestamps=True,
                                     hotwords=hints.hotwords if hints else None)

    def transcribe(self, audio: sr.AudioData, hints: Hints | None = None,
                   beam_size: int | None = None) -> ASRResult:
        """``beam_size`` overrides the engine's (the live turn is greedy; a second pass may use 5)."""
        from faster_whisper.transcribe import get_ctranslate2_storage

        t0 = time.perf_counter()
        x = _pcm_of(audio)
        if x.size < RATE // 10:
            return ASRResult("", 1.0, seconds=time.perf_counter() - t0, engine=self.name)
        feats, _ = self._features(x)
        prompt = self._prompt(hints)
        dur = x.size / RATE
        max_len = min(448, len(prompt) + int(8 * dur) + 10)
        with self._lock:
            enc = self.model.model.encode(get_ctranslate2_storage(feats[None]), to_cpu=False)
            res = self.model.model.generate(
                enc, [prompt], beam_size=beam_size or self.beam_size, max_length=max_len, return_scores=True,
                return_no_speech_prob=True, suppress_blank=True, suppress_tokens=self.suppress,
                **self.decode_options,
            )[0]
        ids = [t for t in res.sequences_ids[0] if t < self.tokenizer.eot]
        # A loop cut by max_length can end inside a multi-byte character: drop U+FFFD.
        text = _SPACE_RE.sub("", to_simplified(self.tokenizer.decode(ids).replace("\ufffd", "").strip()))
        n = max(1, len(ids))
        score = res.scores[0] if res.scores else 0.0
        return ASRResult(text=_dedupe_loops(text), no_speech_prob=float(res.no_speech_prob),
                         avg_logprob=float(score), seconds=time.perf_counter() - t0,
                         engine=self.name, extra={"tokens": n, "beam": beam_size or self.beam_size})

    def score(self, audio: sr.AudioData, candidates: list[str]) -> list[float]:
        """Forced alignment of each candidate against the audio; mean token log-prob."""
        from faster_whisper.transcribe import get_ctranslate2_storage

        x = _pcm_of(audio)
        if x.size < RATE // 10 or not candidates:
            return [-math.inf] * len(candidates)
        # Alignment is constrained to the candidates: a short window is enough (and the batch
        # re-encodes the audio once per candidate, so the window length matters).
        feats, n = self._features(x, min_window_s=0.0)
        ids = [self.tokenizer.encode(c) for c in candidates]
        batch = get_ctranslate2_storage(np.repeat(feats[None], len(candidates), axis=0))
        start = list(self.tokenizer.sot_sequence) + [self.tokenizer.no_timestamps]
        with self._lock:
            out = self.model.model.align(batch, start, ids, [n] * len(candidates))
        scores = []
        for r in out:
            probs = list(r.text_token_probs)
            scores.append(sum(math.log(max(p, 1e-9)) for p in probs) / max(1, len(probs)))
        return scores

    def warm_up(self) -> None:
        self.transcribe(to_audio_data(np.zeros(RATE // 2, dtype="<i2").tobytes()))


def _dedupe_loops(text: str) -> str:
    """Cut Whisper's repetition loops: a block of 4+ characters repeated back to back, or a
    block of 2-3 characters repeated 3+ times, is kept once ("好的好的" stays)."""
    for _ in range(10):
        m = re.search(r"(.{4,40}?)\1+", text) or re.search(r"(.{2,3}?)\1{2,}", text)
        if not m:
            break
        block, rest = m.group(1), text[m.end():]
        # a loop cut off by max_length leaves a partial copy of the block behind
        k = 0
        while k < min(len(block), len(rest)) and block[k] == rest[k]:
            k += 1
        if k >= 3:
            rest = rest[k:]
        text = text[:m.start()] + block + rest
    return text


_SPACE_RE = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")


def create_engine(name: str, model_dir: str | Path, beam_size: int = 1, cpu_threads: int = 2) -> ASREngine:
    if name == "whisper":
        from voice.asr_model import DEFAULT_DEST, ensure_whisper_base

        if Path(model_dir) == DEFAULT_DEST:
            ensure_whisper_base(DEFAULT_DEST)
        return WhisperEngine(model_dir, beam_size=beam_size, cpu_threads=cpu_threads,
                             min_window_s=env_float("VOICE_ASR_MIN_WINDOW", 8.0))
    raise ValueError(f"unknown ASR engine {name!r} (VOICE_ASR_ENGINE=whisper)")


def register_with_speech_recognition(engine: ASREngine) -> None:
    """Add ``sr.Recognizer.recognize_govdesk(audio_data, prompt=..., hotwords=...)``."""

    def recognize_govdesk(self, audio_data: sr.AudioData, show_all: bool = False, **hints):
        result = engine.transcribe(audio_data, Hints(**hints))
        if show_all:
            return result
        if not result.text:
            raise sr.UnknownValueError()
        return result.text

    sr.Recognizer.recognize_govdesk = recognize_govdesk
