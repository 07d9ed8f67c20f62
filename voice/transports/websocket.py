"""WebSocket transport: GET /ws?caller=&sender=&call_start=1

In:  binary = 16 kHz signed 16-bit LE mono PCM (any chunk size);
     text JSON {"type":"dtmf","digit":"0"} | {"type":"hangup"}.
Out: binary = 16 kHz PCM, 20 ms frames paced in real time;
     text JSON events {"type":"ready"|"transcript"|"bot"|"handoff"|"emergency"|"barge_in"|"end"|"error", ...}.
"""
from __future__ import annotations

import json
import logging
import uuid

from aiohttp import WSMsgType, web

from voice.pipeline import CallSession, CallSink

log = logging.getLogger("voice.websocket")
MAX_MESSAGE = 1 << 20


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


async def websocket_handler(request: web.Request) -> web.WebSocketResponse:
    services = request.app["services"]
    ws = web.WebSocketResponse(max_msg_size=MAX_MESSAGE, heartbeat=30)
    await ws.prepare(request)
    q = request.query
    call_id = q.get("call_id") or uuid.uuid4().hex
    caller = q.get("caller") or services.registry.caller_for(call_id)
    sink = WebSocketSink(ws)
    await services.ready.wait()
    session = CallSession(services, call_id, sink, caller=caller, channel=q.get("channel", "voice"),
                          sender=q.get("sender") or None)
    await sink.send_event({"type": "ready", "call_id": call_id})
    await session.start(send_call_start=q.get("call_start", "1") != "0")
    try:
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                await session.push_audio(msg.data[: len(msg.data) & ~1])
            elif msg.type == WSMsgType.TEXT:
                try:
                    data = json.loads(msg.data)
                except ValueError:
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
