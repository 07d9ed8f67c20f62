"""HTTP upload: POST /api/utterance - one recorded utterance in, the bot's answer out.

Body: multipart/form-data (file field "audio" or "file", other fields as parameters) or
the raw audio bytes (parameters in the query string).  Parameters: sender, caller,
channel (default "voice"), expect (yesno|digits|name|matter|rating|free; default: from
the conversation's last bot message), audio=0 to skip synthesis.
WAV 16-bit is read directly; AMR/MP3/OGG/M4A... through ffmpeg.  Limit: VOICE_MAX_UPLOAD
bytes (2 MB) -> 413.  Answer: {"transcript", "heard", "corrected", "replies": [...],
"handoff", "emergency", "audio": base64 WAV 16 kHz | null}.
"""
from __future__ import annotations

import asyncio
import base64
import logging
import uuid

from aiohttp import web

from voice import audio as A
from voice.frontend import FREE, expectation_from
from voice.pipeline import CallSession, CallSink

log = logging.getLogger("voice.http")
_EXPECT = {"free", "yesno", "digits", "name", "matter", "rating"}


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


class _NullSink(CallSink):
    async def send_audio(self, frame: bytes) -> None:  # pragma: no cover - not streaming
        pass


async def _read_limited(request: web.Request, limit: int) -> tuple[bytes | None, dict]:
    """(audio bytes or None when too large, parameters)."""
    params = dict(request.query)
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        data = None
        while True:
            part = await reader.next()
            if part is None:
                break
            if part.name in ("audio", "file"):
                buf = bytearray()
                while True:
                    chunk = await part.read_chunk(65536)
                    if not chunk:
                        break
                    buf += chunk
                    if len(buf) > limit:
                        return None, params
                data = bytes(buf)
            elif part.name:
                params[part.name] = (await part.text())[:200]
        return data if data is not None else b"", params
    buf = bytearray()
    async for chunk in request.content.iter_chunked(65536):
        buf += chunk
        if len(buf) > limit:
            return None, params
    return bytes(buf), params


async def utterance_handler(request: web.Request) -> web.Response:
    services = request.app["services"]
    limit = services.config.max_upload_bytes
    if request.content_length is not None and request.content_length > limit + 65536:
        return _error(413, "too_large", f"audio larger than {limit // 1024} KB; send at most {limit} bytes")
    try:
        data, params = await _read_limited(request, limit)
    except Exception:  # noqa: BLE001 - malformed multipart
        return _error(400, "bad_request", "could not read the upload (multipart or raw audio body expected)")
    if data is None:
        return _error(413, "too_large", f"audio larger than {limit // 1024} KB; send at most {limit} bytes")
    if not data:
        return _error(400, "no_audio", "no audio in the request (field 'audio' or raw body)")
    loop = asyncio.get_running_loop()
    try:
        pcm = await loop.run_in_executor(services.cpu_executor, A.decode_any, data, 16000)
    except A.AudioFormatError as exc:
        return _error(415, "bad_audio", str(exc))
    if len(pcm) > services.config.max_utterance_s * 2 * 32000:
        return _error(413, "too_long", "audio longer than 30 seconds")
    await services.ready.wait()
    call_id = f"http-{uuid.uuid4().hex[:12]}"
    session = CallSession(services, call_id, _NullSink(), caller=params.get("caller") or None,
                          channel=params.get("channel", "voice"), sender=params.get("sender") or None,
                          streaming=False)
    session.record.state = "active"
    expect = params.get("expect")
    if expect in _EXPECT:
        session.expectation = expect
    else:
        tracker = await services.rasa.tracker(session.sender)
        slots = tracker.get("slots") or {}
        if slots.get("speech_rate") in ("normal", "slow"):
            session.speech_rate = slots["speech_rate"]
        session.expectation = expectation_from("", slots.get("requested_slot")) if slots.get("requested_slot") else FREE
    if A.rms_dbfs(pcm) < -60:
        result = await session._not_understood("")
        heard = text = ""
        corrected = False
    else:
        asr, fe = await services.recognize(pcm, session.expectation)
        heard, text, corrected = asr.text, fe.text, fe.corrected
        session.record.log({"type": "transcript", "heard": heard, "text": text, "corrected": corrected})
        if text:
            result = await session.handle_text(text, heard=heard)
        else:
            result = await session._not_understood(heard)
    session.record.state = "ended"
    audio_b64 = None
    if params.get("audio", "1") != "0" and result.texts:
        pcm_out = b"".join([await services.tts.synthesize(s, session.rate_wpm())
                            for t in result.texts for s in _sentences(t)])
        audio_b64 = base64.b64encode(A.wav_bytes(pcm_out, 16000)).decode()
    return web.json_response({
        "transcript": text, "heard": heard, "corrected": corrected,
        "replies": result.replies or [{"text": t} for t in result.texts],
        "texts": result.texts, "handoff": result.handoff, "emergency": result.emergency,
        "error": result.error, "audio": audio_b64, "audio_format": "wav/16000/pcm16" if audio_b64 else None,
    })


def _sentences(text: str) -> list[str]:
    from voice.engines.tts import split_sentences

    return split_sentences(text)
