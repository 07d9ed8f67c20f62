"""One call pipeline shared by every transport (Pipecat-like: frames in, frames out).

Transports turn their wire format into calls on ``CallSession``:
``push_audio(pcm16 @16 kHz)``, ``push_dtmf(digit)``, ``hangup()``; and receive output
through a ``CallSink``: ``send_audio(frame)`` (already at ``sink.out_rate``, one 20 ms
frame, paced in real time by the session), ``send_event(dict)``, ``close()``.

Flow per caller turn: VAD end-of-turn -> ASR (executor) -> front end -> Rasa REST ->
hand-off / emergency handling -> TTS sentence by sentence (synthesis overlaps playback)
-> paced playback, cancelled at once when the caller speaks (barge-in).

Bounded per call: at most ``VOICE_MAX_QUEUED_TURNS`` (4) turns wait for the bot
(``TurnQueue``: when full the oldest waiting audio turn is dropped, a hand-off never),
an utterance is cut at ``VOICE_MAX_UTTERANCE_S`` (15 s), the pre-roll at ~300 ms and a
keyed number at ``MAX_DTMF_DIGITS`` digits.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import time
from collections import deque
from dataclasses import dataclass, field

from common.privacy import caller_key, mask_text
from voice import audio as A
from voice.asr_pool import CALL_ID, PoolFull
from voice.engines.tts import split_sentences
from voice.engines.vad import EndOfTurn, create_vad
from voice.frontend import DIGITS, FREE, NAME, RATING, YESNO, expectation_from

# The bot's ask payload "expect" -> the front end's expectation (others are free speech).
EXPECT_OF_ASK = {"yesno": YESNO, "digits": DIGITS, "name": NAME, "rating": RATING}
from clients.rasa import RasaUnavailable

log = logging.getLogger("voice.pipeline")

HANDOFF_TEXT = "好的，马上为您转接人工服务，请不要挂机，工作人员马上就来。"
APOLOGY_TEXT = "抱歉，系统暂时出了点问题。"
REPROMPT_TEXT = "您还在吗？有什么可以帮您？"
OFFER_PERSON_TEXT = "需要真人帮您的话，请说“转人工”，或者按0。"
ELDERLY_OFFER_TEXT = "您要是觉得跟我说话不方便，可以说“转人工”，或者按0，马上有工作人员接听。"
FAIL_OFFER_TEXT = "不好意思，我没听清。您可以说“转人工”或者按0找工作人员，也可以再说一遍。"
GOODBYE_TEXT = "您好像不在了，我先挂了。有事请再打过来，再见。"
BUSY_TEXT = "您好，现在线路繁忙，请稍后再拨。"
MAX_DTMF_DIGITS = 32
NOT_UNDERSTOOD = ("没听明白", "您是想问")
_ELDERLY_RE = re.compile(r"(六十[五六七八九]|[七八九]十|[七八九]十多|6[5-9]|[7-9][0-9]|1[0-1][0-9])岁|年纪大|老年人|上了年纪")
FRAME_MS = 20


class TurnQueue:
    """Bounded FIFO of turns waiting for the bot.

    ``put_nowait`` never blocks and never grows past ``maxsize``: when full it drops the
    oldest audio turn (else the oldest turn that is not a hand-off) and returns it.
    """

    def __init__(self, maxsize: int = 4):
        self.maxsize = max(1, int(maxsize))
        self._items: deque = deque()
        self._ready = asyncio.Event()
        self.dropped = 0

    def put_nowait(self, item: tuple):
        dropped = None
        if len(self._items) >= self.maxsize:
            victims = [i for i, it in enumerate(self._items) if it[0] == "audio"] or \
                [i for i, it in enumerate(self._items) if it[0] != "handoff"] or [0]
            dropped = self._items[victims[0]]
            del self._items[victims[0]]
            self.dropped += 1
        self._items.append(item)
        self._ready.set()
        return dropped

    async def put(self, item: tuple):
        return self.put_nowait(item)

    async def get(self) -> tuple:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)


class CallSink:
    out_rate = 16000

    async def send_audio(self, frame: bytes) -> None:
        raise NotImplementedError

    async def send_event(self, event: dict) -> None:
        pass

    async def close(self, handoff: bool = False) -> None:
        pass


@dataclass
class TurnResult:
    heard: str = ""
    text: str = ""
    replies: list[dict] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    handoff: bool = False
    emergency: str | None = None
    end_call: bool = False
    error: str | None = None
    timings: dict = field(default_factory=dict)


class CallSession:
    def __init__(self, services, call_id: str, sink: CallSink, caller: str | None = None,
                 channel: str = "voice", sender: str | None = None, streaming: bool = True):
        self.s = services
        self.cfg = services.config
        self.call_id = call_id
        self.sink = sink
        self.caller = caller
        self.channel = channel
        self.sender = sender or (caller_key(caller) if caller else f"voice-{call_id}")
        self.record = services.registry.create(call_id)
        self.record.caller = caller
        self.record.channel = channel
        self.speech_rate = "normal"
        self.expectation = FREE
        self.last_bot_text = ""
        self.failures = 0
        self.offered_person = False
        self.silences = 0
        self.closed = False
        self.ending = False
        # streaming state
        self.vad = create_vad(self.cfg.vad_engine) if streaming else None
        self.eot = EndOfTurn(end_ms=self.cfg.end_of_turn_ms)
        self._preroll: list[bytes] = []
        self._utterance: list[bytes] = []
        self._utt_bytes = 0
        self._turns = TurnQueue(getattr(self.cfg, "max_queued_turns", 4))
        self._playback: asyncio.Task | None = None
        self._tasks: list[asyncio.Task] = []
        self._last_activity = time.monotonic()
        self._dtmf: str | None = None
        # Speculative ASR: started after half the end-of-turn silence, used if the caller stays quiet.
        self._spec: tuple[int, asyncio.Task] | None = None
        self._turn_timings: dict | None = None
        self.speech_end_at: float | None = None   # for latency measurements
        self.first_audio_latency: list[float] = []

    # ------------------------------------------------------------ lifecycle
    async def start(self, send_call_start: bool = True) -> None:
        self.record.state = "active"
        self.record.log({"type": "start", "channel": self.channel})
        self._tasks.append(asyncio.create_task(self._turn_worker()))
        if self.vad is not None:
            self._tasks.append(asyncio.create_task(self._silence_watchdog()))
        if send_call_start:
            self._enqueue(("text", "/call_start"))

    async def hangup(self) -> None:
        """The caller hung up (or the transport died): stop everything, never raise."""
        if self.closed:
            return
        self.closed = True
        self.record.state = "ended"
        self.record.log({"type": "end", "by": "caller"})
        if self._spec is not None:
            self._spec[1].cancel()
        await self._stop_playback()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def emit(self, event: dict) -> None:
        self.record.log(event)
        try:
            await self.sink.send_event(event)
        except Exception as exc:  # noqa: BLE001 - a dead peer must not break the call loop
            log.debug("event not delivered: %s", exc)

    # ------------------------------------------------------------ input frames
    async def push_audio(self, pcm16k: bytes) -> None:
        if self.closed or self.vad is None or not pcm16k:
            return
        for prob in self.vad.process(pcm16k):
            pass_event = self.eot.update(prob)
            if pass_event == "start":
                self._last_activity = time.monotonic()
                self.silences = 0
                if self._playback is not None and not self._playback.done() and not self.ending:
                    await self._stop_playback()
                    await self.emit({"type": "barge_in"})
                self._utterance = list(self._preroll)
                self._utt_bytes = sum(map(len, self._utterance))
            elif pass_event == "end":
                self._finish_utterance()
            elif self.eot.in_speech:
                self._maybe_speculate()
        if self.eot.in_speech:
            self._utterance.append(pcm16k)
            self._utt_bytes += len(pcm16k)
            self._last_activity = time.monotonic()
            if self._utt_bytes > self.cfg.max_utterance_s * 32000:
                self.eot.in_speech = False
                self._finish_utterance()
        else:
            self._preroll = (self._preroll + [pcm16k])[-15:]  # ~300 ms before speech start

    def _maybe_speculate(self) -> None:
        silence = self.eot.silence_ms
        if silence == 0 and self._spec is not None:       # the caller went on talking
            self._spec[1].cancel()
            self._spec = None
        elif self._spec is None and silence >= self.cfg.end_of_turn_ms // 2 and self._utt_bytes >= 6400:
            pcm = b"".join(self._utterance)
            self._spec = (len(pcm), self._recognize(pcm))

    def _recognize(self, pcm: bytes) -> asyncio.Task:
        """ASR of one utterance as a task tagged with this call (the shared pool serves calls in turn)."""
        ctx = contextvars.copy_context()
        ctx.run(CALL_ID.set, self.call_id)
        return asyncio.create_task(self.s.recognize(pcm, self.expectation), context=ctx)

    def _enqueue(self, item: tuple) -> None:
        dropped = self._turns.put_nowait(item)
        if dropped is None:
            return
        if dropped[0] == "audio" and dropped[1][1] is not None:
            dropped[1][1].cancel()             # its speculative ASR is not needed any more
        log.warning("call %s: %d turns waiting, oldest %s turn dropped", self.call_id,
                    self._turns.qsize(), dropped[0])
        self.record.log({"type": "turn_dropped", "kind": dropped[0]})

    def _finish_utterance(self) -> None:
        pcm = b"".join(self._utterance)
        self._utterance, self._utt_bytes = [], 0
        self.speech_end_at = time.monotonic()
        spec, self._spec = self._spec, None
        if len(pcm) >= 32000 * 0.2:
            self._enqueue(("audio", (pcm, spec[1] if spec else None)))
        elif spec:
            spec[1].cancel()

    async def push_dtmf(self, digit: str) -> None:
        if self.closed:
            return
        self._last_activity = time.monotonic()
        self.silences = 0
        self.record.log({"type": "dtmf", "digit": "*" if digit.isdigit() else digit})
        await self._stop_playback()
        if self._dtmf is not None:
            if digit == "#":
                digits, self._dtmf = self._dtmf, None
                if digits:
                    self._enqueue(("text", digits))
            elif digit == "*":
                self._dtmf = ""
            elif digit.isdigit() and len(self._dtmf) < MAX_DTMF_DIGITS:
                self._dtmf += digit
            return
        if digit == "0" and self.expectation != DIGITS:
            self._enqueue(("handoff", "dtmf_0"))
        elif digit.isdigit():
            self._dtmf = digit           # keying a number; '#' ends it
        elif digit == "*":
            self._enqueue(("text", "再说一遍"))

    # ------------------------------------------------------------ turns
    async def _turn_worker(self) -> None:
        while not self.closed:
            kind, value = await self._turns.get()
            if self.ending:
                continue  # the call is being handed off / closed: nothing more to process
            try:
                if kind == "audio":
                    result = await self.handle_audio(*value)
                elif kind == "handoff":
                    result = await self.handoff(value)
                else:
                    result = await self.handle_text(value, heard=None)
                await self.speak_turn(result)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one bad turn never kills the call
                log.exception("turn failed in call %s", self.call_id)

    async def handle_audio(self, pcm16k: bytes, speculative: asyncio.Task | None = None) -> TurnResult:
        t0 = time.monotonic()
        try:
            if speculative is not None:
                asr, fe = await speculative      # same speech; only trailing silence differs
            else:
                asr, fe = await self._recognize(pcm16k)
        except PoolFull:
            log.warning("call %s: ASR queue full, turn not recognised", self.call_id)
            self.record.log({"type": "asr_busy"})
            return await self._not_understood("")
        except Exception as exc:  # noqa: BLE001
            log.exception("ASR failed")
            return TurnResult(error=f"asr: {exc}")
        t_asr = time.monotonic() - t0
        text = fe.text.strip()
        await self.emit({"type": "transcript", "heard": asr.text, "text": text, "corrected": fe.corrected,
                         "method": fe.method, "expectation": fe.expectation, "asr_s": round(asr.seconds, 3),
                         "second_pass": bool((getattr(asr, "extra", None) or {}).get("second_pass"))})
        if not text or (asr.no_speech_prob > 0.8 and len(text) <= 2):
            return await self._not_understood(asr.text)
        result = await self.handle_text(text, heard=asr.text)
        result.timings["asr_wait"] = t_asr
        result.timings["asr"] = asr.seconds
        return result

    async def _not_understood(self, heard: str) -> TurnResult:
        self.failures += 1
        res = TurnResult(heard=heard)
        if self.failures >= 2 and not self.offered_person:
            self.offered_person = True
            res.texts = [FAIL_OFFER_TEXT]
        else:
            res.texts = ["不好意思，我没听清，请您再说一遍。"]
        return res

    def metadata(self) -> dict:
        return {"channel": self.channel, "caller": self.caller, "speech_rate": self.speech_rate,
                "call_id": self.call_id}

    async def handle_text(self, text: str, heard: str | None = None) -> TurnResult:
        res = TurnResult(heard=heard if heard is not None else text, text=text)
        t0 = time.monotonic()
        try:
            replies = await self.s.rasa.send(self.sender, text, self.metadata())
        except RasaUnavailable as exc:
            log.warning("Rasa unavailable in call %s: %s", self.call_id, exc)
            await self.emit({"type": "error", "error": "bot_unavailable"})
            res.error = "bot_unavailable"
            res.texts = [APOLOGY_TEXT, HANDOFF_TEXT]
            await self._mark_handoff(res, "bot_unavailable")
            return res
        res.timings["rasa"] = time.monotonic() - t0
        res.replies = replies
        # The bot marks each question with {"event": "ask", "key", "expect", "rate"}: what answer
        # comes next and how fast to speak. Only replies without one need the tracker.
        ask = next((m["custom"] for m in reversed(replies) if isinstance(m.get("custom"), dict)
                    and m["custom"].get("event") == "ask"), None)
        slots: dict = {}
        if ask is None:
            t1 = time.monotonic()
            tracker = await self.s.rasa.tracker(self.sender)
            res.timings["tracker"] = time.monotonic() - t1
            slots = tracker.get("slots") or {}
        rate = (ask or {}).get("rate") or slots.get("speech_rate")
        if rate in ("normal", "slow"):
            self.speech_rate = rate
        for msg in replies:
            if msg.get("text"):
                res.texts.append(msg["text"])
            custom = msg.get("custom") or {}
            if isinstance(custom, dict) and custom.get("event") == "handoff":
                await self._mark_handoff(res, str(custom.get("reason") or "bot"))
            elif isinstance(custom, dict) and custom.get("event") == "emergency":
                res.emergency = str(custom.get("number") or "")
                await self.emit({"type": "emergency", "number": res.emergency})
        if res.texts:
            self.last_bot_text = res.texts[-1]
        self.expectation = (EXPECT_OF_ASK.get(ask.get("expect"), FREE) if ask is not None
                            else expectation_from(self.last_bot_text, slots.get("requested_slot")))
        if self.expectation == DIGITS and self.vad is not None:
            self.record.log({"type": "keypad_offer"})
        # Offer a person first to elderly callers and after two failures.
        joined = "".join(res.texts)
        if any(p in joined for p in NOT_UNDERSTOOD) and text != "/call_start":
            self.failures += 1
        if not res.handoff and not self.offered_person and text != "/call_start":
            if _ELDERLY_RE.search(text) or self.failures >= 2:
                self.offered_person = True
                res.texts.insert(0, ELDERLY_OFFER_TEXT if _ELDERLY_RE.search(text) else FAIL_OFFER_TEXT)
        return res

    async def handoff(self, reason: str) -> TurnResult:
        """Key 0 (or the gateway's own decision): tell the bot, then hand off in any case."""
        res = TurnResult(text="转人工")
        try:
            await self.s.rasa.send(self.sender, "/request_human", self.metadata())
        except RasaUnavailable:
            pass
        res.texts = [HANDOFF_TEXT]
        await self._mark_handoff(res, reason)
        return res

    async def _mark_handoff(self, res: TurnResult, reason: str) -> None:
        res.handoff = True
        res.end_call = True
        if not self.record.handoff:
            self.record.handoff = True
            self.record.handoff_reason = reason
            await self.s.registry.persist(self.record)
            await self.emit({"type": "handoff", "reason": reason})

    # ------------------------------------------------------------ output
    def rate_wpm(self) -> int:
        return self.cfg.tts_rate_slow if self.speech_rate == "slow" else self.cfg.tts_rate

    async def speak_turn(self, res: TurnResult) -> None:
        for text in res.texts:
            await self.emit({"type": "bot", "text": text})
        if self.closed:
            return
        if res.end_call:
            self.ending = True
        await self._stop_playback()
        self._turn_timings = res.timings
        self._playback = asyncio.create_task(self._play_texts(res.texts))
        # A peer that hangs up mid-sentence ends playback with ConnectionError: expected, not logged.
        self._playback.add_done_callback(lambda t: t.cancelled() or t.exception())
        if res.end_call:
            try:
                await self._playback
            except asyncio.CancelledError:
                pass
            await self.end_call(handoff=res.handoff)

    async def end_call(self, handoff: bool = False) -> None:
        if self.closed:
            return
        self.record.state = "handoff" if handoff else "ended"
        await self.emit({"type": "end", "handoff": handoff})
        self.closed = True
        try:
            await self.sink.close(handoff=handoff)
        except Exception:  # noqa: BLE001
            pass
        for t in self._tasks:
            if t is not asyncio.current_task():
                t.cancel()

    async def _play_texts(self, texts: list[str]) -> None:
        sentences = [s for t in texts for s in split_sentences(t)]
        rate = self.rate_wpm()
        # Start synthesis of every sentence now (one TTS worker: they finish in order),
        # play each as soon as it is ready: synthesis overlaps playback.
        t_tts = time.monotonic()
        jobs = [asyncio.ensure_future(self.s.tts.synthesize(s, rate)) for s in sentences]
        try:
            first = True
            for job in jobs:
                pcm = await job
                if first and self.speech_end_at is not None:
                    now = time.monotonic()
                    latency = now - self.speech_end_at
                    self.first_audio_latency.append(latency)
                    self.speech_end_at = None
                    # The parts (ASR wait, Rasa, tracker, first TTS chunk) beside the whole: what is
                    # left over is the pipeline's own overhead (queues, codecs, scheduling).
                    timings = {k: round(v, 3) for k, v in {**(self._turn_timings or {}),
                                                          "tts_first": now - t_tts}.items()}
                    self.record.log({"type": "timing", "vad_end_to_first_audio": round(latency, 3), **timings})
                first = False
                await self._play_pcm(pcm)
            self._last_activity = time.monotonic()
        finally:
            for job in jobs:
                job.cancel()

    async def _play_pcm(self, pcm16k: bytes) -> None:
        pcm = A.resample(pcm16k, 16000, self.sink.out_rate)
        frame = self.sink.out_rate * 2 * FRAME_MS // 1000
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i, off in enumerate(range(0, len(pcm), frame)):
            chunk = pcm[off:off + frame]
            if len(chunk) < frame:
                chunk += b"\x00" * (frame - len(chunk))
            await self.sink.send_audio(chunk)
            # Real-time pacing against an absolute schedule (no drift); stay ~60 ms ahead.
            delay = start + (i + 1) * FRAME_MS / 1000 - 0.06 - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._last_activity = time.monotonic()

    async def _stop_playback(self) -> None:
        task = self._playback
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _silence_watchdog(self) -> None:
        while not self.closed:
            await asyncio.sleep(0.5)
            busy = (self._playback is not None and not self._playback.done()) or self.eot.in_speech \
                or not self._turns.empty() or self._dtmf is not None
            if busy:
                continue
            if time.monotonic() - self._last_activity < self.cfg.reprompt_s:
                continue
            self.silences += 1
            self._last_activity = time.monotonic()
            self.record.log({"type": "silence", "count": self.silences})
            if self.silences <= 2:
                await self.speak_turn(TurnResult(texts=[REPROMPT_TEXT]))
            elif self.silences == 3:
                self.offered_person = True
                await self.speak_turn(TurnResult(texts=[OFFER_PERSON_TEXT]))
            else:
                await self.speak_turn(TurnResult(texts=[GOODBYE_TEXT], end_call=True))
                return

    def log_text(self, text: str) -> str:
        return mask_text(text)
