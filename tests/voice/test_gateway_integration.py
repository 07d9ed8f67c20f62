"""Real audio through the real gateway against the real stack (Redis + actions + Rasa)."""
from __future__ import annotations

import asyncio
import base64
import io
import json
import time
import urllib.request
import uuid
import wave

import aiohttp
import pytest

from tests.voice.client import (AudioSocketCall, bearer, channel_token, client_token, events, http_json, synth,
                                wait_for_event)

pytestmark = pytest.mark.integration


def _base(stack) -> str:
    return f"http://127.0.0.1:{stack.ports.voice}"


def _bot_texts(base: str, call_id: str) -> str:
    return "".join(e.get("text", "") for e in events(base, call_id) if e["type"] == "bot")


async def test_audiosocket_fire_emergency_gets_119(stack):
    base = _base(stack)
    call_id = uuid.uuid4()
    # the dialplan tells us the caller number before connecting AudioSocket
    assert http_json(f"{base}/calls/{call_id}", {"caller": "13800138000"})[0] == 200
    call = await AudioSocketCall(stack.ports.audiosocket, call_id).connect()
    # the greeting starts playing (real 20 ms frames of 320 bytes)...
    await asyncio.wait_for(call.audio_event.wait(), 30)
    # ...and the caller talks over it (barge-in) with a real utterance
    await call.say(synth("030.wav", 8000), trailing_silence_s=1.0)
    ev = await wait_for_event(base, str(call_id), lambda e: e["type"] == "emergency", 30)
    assert ev is not None and ev["number"] == "119", events(base, str(call_id))
    transcript = await wait_for_event(base, str(call_id), lambda e: e["type"] == "transcript", 5)
    assert "着火" in transcript["text"]
    assert any(e["type"] == "barge_in" for e in events(base, str(call_id)))
    assert "119" in _bot_texts(base, str(call_id))
    before = call.log.audio_frames
    await call.silence(1.0)
    assert call.log.audio_frames > before, "the 119 answer is played back"
    assert call.log.bad_frames == 0
    await call.hangup()
    rec = http_json(f"{base}/calls/{call_id}")[1]
    assert rec["caller_known"] is True and rec["handoff"] is False
    # personal data is masked in the event log
    assert "13800138000" not in json.dumps(events(base, str(call_id)))


async def test_audiosocket_request_human_hands_off_and_hangs_up(stack):
    base = _base(stack)
    call = await AudioSocketCall(stack.ports.audiosocket).connect()
    await asyncio.wait_for(call.audio_event.wait(), 30)
    await call.say(synth("001.wav", 8000), trailing_silence_s=0.6)
    # the hand-off sentence is played, then the gateway sends the 0x00 hang-up
    hung = await call.wait_hangup(40)
    assert hung
    rec = http_json(f"{base}/calls/{call.call_id}")[1]
    assert rec["handoff"] is True
    kinds = [e["type"] for e in events(base, str(call.call_id))]
    assert "handoff" in kinds and kinds[-1] == "end"


async def test_audiosocket_dtmf_zero_hands_off(stack):
    base = _base(stack)
    call = await AudioSocketCall(stack.ports.audiosocket).connect()
    await asyncio.wait_for(call.audio_event.wait(), 30)
    await call.dtmf("0")
    assert await call.wait_hangup(40)
    rec = http_json(f"{base}/calls/{call.call_id}")[1]
    assert rec["handoff"] is True and rec["handoff_reason"] == "dtmf_0"


async def test_websocket_call_with_dialect_correction(stack):
    base = _base(stack)
    got: list[dict] = []
    audio_bytes = 0
    async with aiohttp.ClientSession() as s:
        url = f"{base.replace('http', 'ws')}/ws?token={client_token()}&session={uuid.uuid4().hex}"
        async with s.ws_connect(url) as ws:
            async def reader():
                nonlocal audio_bytes
                async for msg in ws:
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        got.append(json.loads(msg.data))
                    elif msg.type == aiohttp.WSMsgType.BINARY:
                        audio_bytes += len(msg.data)
            task = asyncio.create_task(reader())
            pcm = synth("011.wav", 16000)      # 家里困难，想申请低保 (Whisper hears 地宝)
            await asyncio.sleep(1.0)
            for off in range(0, len(pcm), 640):
                await ws.send_bytes(pcm[off:off + 640])
                await asyncio.sleep(0.02)
            for _ in range(60):
                await ws.send_bytes(b"\x00" * 640)
                await asyncio.sleep(0.02)
            def answered() -> bool:
                types = [e["type"] for e in got]
                return "transcript" in types and "bot" in types[types.index("transcript"):]
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not answered():
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)  # some of the answer's audio
            await ws.send_str(json.dumps({"type": "hangup"}))
            await asyncio.wait_for(task, 10)
    types = [e["type"] for e in got]
    assert types[0] == "ready"
    transcript = next(e for e in got if e["type"] == "transcript")
    assert "低保" in transcript["text"]
    assert audio_bytes > 16000 * 2, "bot audio (16 kHz PCM) came back"


def _multipart(fields: dict, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for k, v in fields.items():
        out.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode())
    out.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"{filename}\"\r\n"
              "Content-Type: audio/wav\r\n\r\n".encode() + data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def test_http_upload_voice_message(stack):
    base = _base(stack)
    wav = (pytest.importorskip("pathlib").Path("/work/shared/audio/synth/030.wav")).read_bytes()
    # as the WeChat connector sends it: its own sender id, with the channel token
    body, ctype = _multipart({"sender": f"wx-{uuid.uuid4().hex[:8]}", "channel": "wechat"}, "a.wav", wav)
    req = urllib.request.Request(f"{base}/api/utterance", data=body,
                                 headers={"Content-Type": ctype, **bearer(channel_token())})
    with urllib.request.urlopen(req, timeout=60) as resp:
        answer = json.loads(resp.read())
    assert "着火" in answer["transcript"] and answer["emergency"] == "119"
    assert any("119" in (r.get("text") or "") for r in answer["replies"])
    with wave.open(io.BytesIO(base64.b64decode(answer["audio"]))) as w:
        assert w.getframerate() == 16000 and w.getnframes() > 16000
