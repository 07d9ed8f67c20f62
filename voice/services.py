"""Process-wide shared objects: ONE ASR model, the TTS worker, Rasa client, call registry.

ASR jobs (16 kHz s16le mono PCM per utterance) go through ONE shared pool (voice/asr_pool.py):
bounded queue, round-robin per call, greedy live decode, an optional beam-5 second pass only
when the greedy result is unsure and nothing else waits (off by default). VOICE_ASR_SCHED=fifo keeps the previous
first-come-first-served executor (for side-by-side benches).
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor

from common.privacy import mask_text
from common.redis_conn import async_client, config
from common.settings import env_str, environment
from voice.asr_pool import ASRPool
from voice.config import VoiceConfig
from voice.engines.asr import ASREngine, Hints, create_engine, register_with_speech_recognition, to_audio_data
from voice.engines.tts import TTSService
from voice.frontend import Frontend, default_lexicon
from clients.rasa import RasaClient

log = logging.getLogger("voice.services")


class CallRecord:
    """What the dialplan and tests can see about a call: GET /calls/{id}."""

    def __init__(self, call_id: str, size: int = 200):
        self.call_id = call_id
        self.caller: str | None = None
        self.channel = "voice"
        self.state = "new"
        self.handoff = False
        self.handoff_reason: str | None = None
        self.started = time.time()
        self.events: deque[dict] = deque(maxlen=size)

    def log(self, event: dict) -> None:
        ev = dict(event)
        for key in ("text", "heard", "corrected"):
            if isinstance(ev.get(key), str):
                ev[key] = mask_text(ev[key])  # personal data never leaves in clear
        ev.setdefault("t", round(time.time(), 3))
        self.events.append(ev)

    def summary(self, with_events: bool = True) -> dict:
        out = {"call_id": self.call_id, "state": self.state, "handoff": self.handoff,
               "handoff_reason": self.handoff_reason, "channel": self.channel,
               "caller_known": bool(self.caller), "started": self.started}
        if with_events:
            out["events"] = list(self.events)
        return out


class CallRegistry:
    def __init__(self, keep: int = 2000, redis_url: str | None = None):
        self.calls: OrderedDict[str, CallRecord] = OrderedDict()
        self.pending_callers: OrderedDict[str, str] = OrderedDict()
        self.keep = keep
        self.redis_url = redis_url
        self._redis = None

    def get(self, call_id: str) -> CallRecord | None:
        return self.calls.get(call_id)

    def create(self, call_id: str) -> CallRecord:
        rec = self.calls.get(call_id) or CallRecord(call_id)
        self.calls[call_id] = rec
        self.calls.move_to_end(call_id)
        while len(self.calls) > self.keep:
            self.calls.popitem(last=False)
        return rec

    def set_caller(self, call_id: str, caller: str) -> None:
        self.pending_callers[call_id] = caller
        while len(self.pending_callers) > self.keep:
            self.pending_callers.popitem(last=False)
        rec = self.calls.get(call_id)
        if rec is not None and not rec.caller:
            rec.caller = caller

    def caller_for(self, call_id: str) -> str | None:
        return self.pending_callers.get(call_id)

    def _client(self):
        """common.redis_conn (plain or Sentinel); short timeouts: Redis is optional here."""
        if self._redis is None:
            env = environment()
            if self.redis_url and self.redis_url.startswith("redis") and self.redis_url != env.get("REDIS_URL"):
                env = {"REDIS_URL": self.redis_url}  # given explicitly: that one server
            cfg = dataclasses.replace(config(env), retry_s=2.0, replica_acks=0)
            self._redis = async_client(cfg, socket_timeout=1, socket_connect_timeout=1)
        return self._redis

    async def persist(self, rec: CallRecord) -> None:
        """Hand-off records go to Redis too (voice:call:<id>, 24 h) for the dialplan/AGI."""
        if not self.redis_url:
            return
        try:
            self._client()
            await self._redis.set(f"voice:call:{rec.call_id}",
                                  json.dumps(rec.summary(with_events=False)), ex=86400)
        except Exception as exc:  # noqa: BLE001 - Redis is optional for the gateway
            log.warning("could not persist call record: %s", exc)

    async def load(self, call_id: str) -> dict | None:
        if not self.redis_url:
            return None
        try:
            self._client()
            raw = await self._redis.get(f"voice:call:{call_id}")
            return json.loads(raw) if raw else None
        except Exception:  # noqa: BLE001
            return None


class Services:
    def __init__(self, config: VoiceConfig | None = None, asr: ASREngine | None = None,
                 tts: TTSService | None = None):
        self.config = config or VoiceConfig()
        self.asr = asr
        self.asr_executor = ThreadPoolExecutor(max_workers=max(1, self.config.asr_workers),
                                               thread_name_prefix="asr")
        self.cpu_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="voice-cpu")
        self.fair = self.config.asr_sched != "fifo"
        # The pool shares the executor: model loading and warm-up run on the same thread(s).
        self.asr_pool = ASRPool(self.config.asr_workers, self.config.asr_max_pending,
                                self.config.asr_max_per_call, executor=self.asr_executor)
        self.tts = tts or TTSService(self.config.tts_engine, self.config.tts_cache_dir, self.config.prompts_dir,
                                     cache_ttl_s=self.config.tts_cache_ttl_s,
                                     cache_max_bytes=int(self.config.tts_cache_max_mb * 1024 * 1024))
        self.rasa = RasaClient(self.config.rasa_url, self.config.rasa_timeout_s)
        self.registry = CallRegistry(redis_url=env_str("REDIS_URL") or env_str("REDIS_SENTINELS"))
        self.frontend = Frontend(enabled=self.config.frontend)
        self.ready = asyncio.Event()
        self.stats = {"asr_s": deque(maxlen=500), "second_pass": 0, "second_pass_kept": 0}

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.asr is None:
            c = self.config
            self.asr = await loop.run_in_executor(
                self.asr_executor, create_engine, c.asr_engine, c.asr_model_dir, c.asr_beam, c.asr_threads)
            await loop.run_in_executor(self.asr_executor, self.asr.warm_up)
        register_with_speech_recognition(self.asr)
        lexicon = await loop.run_in_executor(self.cpu_executor, default_lexicon)
        from voice.frontend import known_utterances

        await loop.run_in_executor(self.cpu_executor, known_utterances)
        self.frontend.lexicon = lexicon
        self.ready.set()
        self._warm_task = asyncio.create_task(self._warm_tts())

    async def _warm_tts(self) -> None:
        """Pre-synthesize the fixed sentences; only they may live in the disk cache (no personal data)."""
        try:
            from voice.fixed_prompts import fixed_prompts

            loop = asyncio.get_running_loop()
            sentences = await loop.run_in_executor(self.cpu_executor, fixed_prompts)
            rates = (self.config.tts_rate, self.config.tts_rate_slow)
            await loop.run_in_executor(self.cpu_executor, self.tts.set_persistent, sentences, rates)
            for sentence in sentences:
                await self.tts.synthesize(sentence, self.config.tts_rate)
        except Exception as exc:  # noqa: BLE001 - warming is an optimisation only
            log.warning("TTS warm-up failed: %s", exc)

    async def recognize(self, pcm16k: bytes, expectation: str):
        """ASR + front end; returns (asr_result, frontend_result). The call is ``CALL_ID``'s."""
        if not self.fair:
            return await self._recognize_fifo(pcm16k, expectation)
        pool, c = self.asr_pool, self.config
        audio = to_audio_data(pcm16k)
        hints = Hints(prompt=self.frontend.hints_prompt(expectation))
        result = await pool.run(self.asr.transcribe, audio, hints)          # greedy (engine's beam)
        if (c.asr_second_beam > 1 and result.text and result.avg_logprob < c.asr_second_below
                and pool.idle() and pool.running == 0):
            self.stats["second_pass"] += 1
            second = await pool.run(self.asr.transcribe, audio, hints, c.asr_second_beam)
            if second.text and second.avg_logprob > result.avg_logprob:
                self.stats["second_pass_kept"] += 1
                second.seconds += result.seconds
                second.extra["second_pass"] = True
                result = second
        self.stats["asr_s"].append(result.seconds)

        def scorer(cands):
            return self.asr.score(audio, cands)

        if expectation in ("yesno", "rating"):      # re-scoring uses the model: its turn in the pool
            fe = await pool.run(self.frontend.process, result.text, expectation, scorer)
        else:
            fe = await asyncio.get_running_loop().run_in_executor(
                self.cpu_executor, self.frontend.process, result.text, expectation, scorer)
        return result, fe

    async def _recognize_fifo(self, pcm16k: bytes, expectation: str):
        """The previous path: one executor, first come first served across all calls."""
        loop = asyncio.get_running_loop()
        audio = to_audio_data(pcm16k)
        hints = Hints(prompt=self.frontend.hints_prompt(expectation))
        result = await loop.run_in_executor(self.asr_executor, self.asr.transcribe, audio, hints)
        self.stats["asr_s"].append(result.seconds)

        def scorer(cands):
            return self.asr.score(audio, cands)

        # Re-scoring uses the model (guarded by the engine's lock); yes/no and ratings always
        # re-score, so they go to the ASR thread directly.
        pool = self.asr_executor if expectation in ("yesno", "rating") else self.cpu_executor
        fe = await loop.run_in_executor(pool, self.frontend.process, result.text, expectation, scorer)
        return result, fe

    async def close(self) -> None:
        await self.rasa.close()
        self.tts.close()
        self.asr_executor.shutdown(wait=False, cancel_futures=True)
        self.cpu_executor.shutdown(wait=False, cancel_futures=True)
