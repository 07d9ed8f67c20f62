"""HTTP upload: POST /api/utterance - one recorded utterance in, the bot's answer out.

Auth: ``Authorization: Bearer <VOICE_TOKEN>`` (or the channel token), else 401 -- see
voice/security.py.  Body: multipart/form-data (file field "audio" or "file", other
fields as parameters) or the raw audio bytes (parameters in the query string).
Parameters: session (the client's own conversation label; the legacy ``sender`` is
read as the same thing), channel (voice|wechat|miniprogram|web|app, default "voice"),
expect (yesno|digits|name|matter|rating|free; default: from the conversation's last
bot message), audio=0 to skip synthesis.  With the *channel* token ``sender`` and
``caller`` are used as given (the WeChat connectors pass their own sender id).
WAV 16-bit is read directly; AMR/MP3/OGG/M4A... through ffmpeg.

Limits (each a 4xx/503 with a Chinese message, never a 5xx):
  body > VOICE_MAX_UPLOAD bytes (2 MB) -> 413 too_large;  body not received within
  VOICE_READ_TIMEOUT_S (30 s) -> 408;  WAV header with a sample rate outside
  8000..48000 Hz, channels outside 1..2 or an odd sample width -> 400 (checked before
  decoding);  declared or decoded duration > VOICE_MAX_AUDIO_S (30 s) -> 413 too_long;
  more than VOICE_MAX_CALLS calls at once -> 503 + Retry-After.
Answer: {"transcript", "heard", "corrected", "replies": [...], "handoff", "emergency",
"audio": base64 WAV 16 kHz | null}.
"""
from __future__ import annotations

import asyncio
import base64
import logging

from aiohttp import web

from voice import audio as A
from voice import security
from voice.frontend import FREE, expectation_from
from voice.pipeline import CallSession, CallSink

log = logging.getLogger("voice.http")
_EXPECT = {"free", "yesno", "digits", "name", "matter", "rating"}


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)


class _NullSink(CallSink):
    async def send_audio(self, frame: bytes) -> None:  # pragma: no cover - not streaming
        pass


_MAX_PARTS = 32
_MAX_FIELD = 1024


async def _read_limited(request: web.Request, limit: int) -> tuple[bytes | None, dict]:
    """(audio bytes or None when too large, parameters).  Never holds more than ~limit bytes."""
    params = {k: v[:200] for k, v in request.query.items()}
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        data = None
        total = 0
        for _ in range(_MAX_PARTS):
            part = await reader.next()
            if part is None:
                break
            is_audio = part.name in ("audio", "file")
            buf = bytearray()
            while True:
                chunk = await part.read_chunk(65536)
                if not chunk:
                    break
                buf += chunk
                total += len(chunk)
                if total > limit + 65536 or (is_audio and len(buf) > limit):
                    return None, params
                if not is_audio and len(buf) > _MAX_FIELD:
                    raise ValueError("form field too long")
            if is_audio:
                data = bytes(buf)
            elif part.name:
                params[part.name] = buf.decode("utf-8", "replace")[:200]
        return data if data is not None else b"", params
    buf = bytearray()
    async for chunk in request.content.iter_chunked(65536):
        buf += chunk
        if len(buf) > limit:
            return None, params
    return bytes(buf), params


def _too_large(limit: int) -> web.Response:
    return _error(413, "too_large", f"音频太大：最多 {limit // 1024} KB（{limit} 字节），请压缩或分段发送。")


async def utterance_handler(request: web.Request) -> web.Response:
    services = request.app["services"]
    principal = request.app["auth"].authenticate(request)
    if principal is None:
        return security.unauthorized()
    limiter: security.CallLimiter = request.app["calls"]
    if not limiter.try_acquire():
        return security.busy()
    try:
        return await _utterance(request, services, principal)
    finally:
        limiter.release()


async def _utterance(request: web.Request, services, principal: security.Principal) -> web.Response:
    cfg = services.config
    limit = cfg.max_upload_bytes
    if request.content_length is not None and request.content_length > limit + 65536:
        return _too_large(limit)
    try:
        data, params = await asyncio.wait_for(_read_limited(request, limit), cfg.read_timeout_s)
    except asyncio.TimeoutError:
        return _error(408, "timeout", f"上传超时：{cfg.read_timeout_s:g} 秒内没有收完音频，请重试。")
    except Exception:  # noqa: BLE001 - malformed multipart
        return _error(400, "bad_request", "无法读取上传内容：请用 multipart 表单（字段 audio）或直接发送音频数据。")
    if data is None:
        return _too_large(limit)
    if not data:
        return _error(400, "no_audio", "请求里没有音频（表单字段 audio，或直接把音频作为请求体）。")
    loop = asyncio.get_running_loop()
    try:
        pcm = await loop.run_in_executor(services.cpu_executor, A.decode_any, data, 16000, 20.0,
                                         cfg.max_audio_s)
    except A.AudioLimitError as exc:
        return _error(exc.status, exc.code, exc.message)
    except A.AudioFormatError:
        return _error(415, "bad_audio", "无法识别的音频格式或文件已损坏（支持 WAV、AMR、MP3、OGG、M4A 等）。")
    if len(pcm) > cfg.max_audio_s * 32000:
        return _error(413, "too_long", f"音频太长：最长 {cfg.max_audio_s:g} 秒，请分段发送。")
    await services.ready.wait()
    ident = security.resolve_identity(principal, params, call_id_prefix="http-")
    session = CallSession(services, ident.call_id, _NullSink(), caller=ident.caller,
                          channel=ident.channel, sender=ident.sender, streaming=False)
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
        asr, fe = await session._recognize(pcm)      # tagged with the call: the ASR pool serves calls in turn
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
