"""WebSocket transport: GET /ws?token=&session=&call_start=1

Auth: ``Authorization: Bearer <VOICE_TOKEN>`` or ``?token=<VOICE_TOKEN>`` (browsers), else
HTTP 401 before the upgrade (voice/security.py).  The Rasa sender id is derived from the
client and its ``session`` label (``sender`` is read as the same thing); ``caller`` and
``call_id`` are used only with the channel token.  Over VOICE_MAX_CALLS calls: an
``error`` event ``busy`` and close code 1013 with a reason.  Messages are limited to
64 KiB (2 s of audio) each.

In:  binary = 16 kHz signed 16-bit LE mono PCM (any chunk size);
     text JSON {"type":"dtmf","digit":"0"} | {"type":"hangup"}.
Out: binary = 16 kHz PCM, 20 ms frames paced in real time;
     text JSON events {"type":"ready"|"transcript"|"bot"|"handoff"|"emergency"|"barge_in"|"end"|"error", ...}.
"""
from __future__ import annotations

import json
import logging

from aiohttp import WSCloseCode, WSMsgType, web

from voice import security
from voice.pipeline import CallSession, CallSink

log = logging.getLogger("voice.websocket")
MAX_MESSAGE = 64 * 1024


class WebSocketSink(CallSink):
    out_rate = 16000

    def __init__(self, ws: web.WebSocketResponse):
        self.ws = ws

    async def send_audio(self, frame: bytes) -> None:
        if self.ws.closed:
            raise ConnectionError("websocket closed")
        await self.ws.send_bytes(frame)

    async def send_event(self, event: dict) -> None:
        if not self.ws.closed:
            await self.ws.send_str(json.dumps(event, ensure_ascii=False))

    async def close(self, handoff: bool = False) -> None:
        if not self.ws.closed:
            await self.ws.close()


async def websocket_handler(request: web.Request) -> web.StreamResponse:
    services = request.app["services"]
    principal = request.app["auth"].authenticate(request, allow_query=True)
    if principal is None:
        return security.unauthorized()       # before the upgrade: a plain HTTP 401
    limiter: security.CallLimiter = request.app["calls"]
    ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE, heartbeat=30)
    if not limiter.try_acquire():
        await ws.prepare(request)
        await ws.send_str(json.dumps({"type": "error", "error": "busy", "message": security.BUSY_HTTP_TEXT},
                                     ensure_ascii=False))
        await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=security.BUSY_WS_REASON.encode())
        return ws
    try:
        return await _call(request, ws, services, principal)
    finally:
        limiter.release()


async def _call(request: web.Request, ws: web.WebSocketResponse, services,
                principal: security.Principal) -> web.WebSocketResponse:
    await ws.prepare(request)
    ident = security.resolve_identity(principal, request.query, services.registry)
    call_id = ident.call_id
    sink = WebSocketSink(ws)
    await services.ready.wait()
    session = CallSession(services, call_id, sink, caller=ident.caller, channel=ident.channel,
                          sender=ident.sender)
    q = request.query
    await sink.send_event({"type": "ready", "call_id": call_id})
    await session.start(send_call_start=q.get("call_start", "1") != "0")
    try:
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                await session.push_audio(msg.data[: len(msg.data) & ~1])
            elif msg.type == WSMsgType.TEXT:
                try:
                    data = json.loads(msg.data)
                except (ValueError, RecursionError):
                    await sink.send_event({"type": "error", "error": "bad_json"})
                    continue
                if not isinstance(data, dict):
                    continue
                if data.get("type") == "dtmf" and str(data.get("digit", ""))[:1] in list("0123456789*#"):
                    await session.push_dtmf(str(data["digit"])[:1])
                elif data.get("type") == "hangup":
                    break
            elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                break
    except Exception:  # noqa: BLE001
        log.exception("websocket call failed")
    finally:
        await session.hangup()
        if not ws.closed:
            await ws.close()
    return ws
