"""Bad input never crashes the gateway or another call (gateway with Rasa unreachable)."""
from __future__ import annotations

import asyncio
import io
import json
import urllib.request
import wave

import numpy as np
import pytest

from tests.voice.client import AudioSocketCall, bearer, events, http_json, pack, synth, wait_for_event

pytestmark = pytest.mark.integration


async def _raw(port: int, data: bytes, read: bool = True) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    got = b""
    if read:
        try:
            got = await asyncio.wait_for(reader.read(100), 3)
        except asyncio.TimeoutError:
            pass
    writer.close()
    return got


async def test_garbage_truncated_and_mid_frame_disconnects_do_not_hurt_a_live_call(rasa_down_gateway):
    gw = rasa_down_gateway
    live = await AudioSocketCall(gw.audiosocket_port).connect()
    await live.silence(0.4)
    # garbage instead of the UUID: the gateway answers with an error frame and closes
    got = await _raw(gw.audiosocket_port, b"GET / HTTP/1.1\r\n\r\n" + bytes(range(256)))
    assert got[:1] in (b"\xff", b"")
    # truncated header, then a peer that disconnects in the middle of an audio frame
    await _raw(gw.audiosocket_port, b"\x01\x00", read=False)
    await _raw(gw.audiosocket_port, pack(0x01, b"A" * 16) + b"\x10\x01\x40" + b"\x00" * 100, read=False)
    # a wrong/unknown frame type inside a call is skipped
    live.writer.write(pack(0x42, b"xyz") + pack(0x10, b"\x00" * 7))  # odd-length audio too
    await live.silence(0.4)
    assert gw.healthy()
    # the live call still works: it gets the apology + hand-off audio and a clean hang-up
    assert await live.wait_hangup(40)
    assert live.log.audio_frames > 50 and live.log.bad_frames == 0


async def test_rasa_down_means_apology_and_handoff(rasa_down_gateway):
    gw = rasa_down_gateway
    call = await AudioSocketCall(gw.audiosocket_port).connect()
    assert await call.wait_hangup(40), "gateway should hang up after the hand-off sentence"
    status, rec = http_json(f"{gw.http}/calls/{call.call_id}", token=gw.channel_token)
    assert status == 200 and rec["handoff"] is True and rec["handoff_reason"] == "bot_unavailable"
    texts = [e.get("text", "") for e in events(gw.http, str(call.call_id), gw.channel_token) if e["type"] == "bot"]
    assert any("抱歉" in t for t in texts) and any("人工" in t for t in texts)


async def test_clipped_and_silent_audio_and_dtmf_garbage(rasa_down_gateway):
    gw = rasa_down_gateway
    call = await AudioSocketCall(gw.audiosocket_port).connect()
    clipped = np.clip(np.frombuffer(synth("000.wav", 8000), dtype="<i2").astype(np.int32) * 40,
                      -32768, 32767).astype("<i2").tobytes()
    await call.send_audio(clipped, realtime=False)
    call.writer.write(pack(0x03, b"") + pack(0x03, b"\xff\xfe"))  # empty / non-ASCII DTMF
    await call.send_audio(b"\x00" * 16000, realtime=False)
    await call.hangup()
    await asyncio.sleep(0.5)
    assert gw.healthy()


def _wav(pcm: bytes, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return buf.getvalue()


def _post(url: str, body: bytes, ctype: str = "audio/wav", token: str = "") -> tuple[int, dict]:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": ctype, **bearer(token)})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_http_upload_rejects_bad_input_clearly(rasa_down_gateway):
    base, tok = rasa_down_gateway.http, rasa_down_gateway.token
    status, body = _post(f"{base}/api/utterance", b"\x00" * (3 * 1024 * 1024), token=tok)
    assert status == 413 and "KB" in body["message"]
    status, body = _post(f"{base}/api/utterance", b"this is not audio at all" * 10, token=tok)
    assert status == 415 and body["error"] == "bad_audio"
    status, body = _post(f"{base}/api/utterance", b"", token=tok)
    assert status == 400
    # silence: understood as nothing, no crash
    status, body = _post(f"{base}/api/utterance?audio=0", _wav(b"\x00" * 32000), token=tok)
    assert status == 200 and body["transcript"] == ""
    # Rasa down: the answer is an apology plus the hand-off
    status, body = _post(f"{base}/api/utterance?audio=0", _wav(synth("030.wav", 16000)), token=tok)
    assert status == 200 and body["handoff"] is True and body["error"] == "bot_unavailable"
    assert "着火" in body["transcript"]
    assert rasa_down_gateway.healthy()


def test_caller_mapping_validation(rasa_down_gateway):
    base, tok = rasa_down_gateway.http, rasa_down_gateway.channel_token
    assert http_json(f"{base}/calls/abc", {"caller": "not a number"}, token=tok)[0] == 400
    assert http_json(f"{base}/calls/abc", {"caller": "13800138000"}, token=tok)[0] == 200
    assert http_json(f"{base}/calls/unknown-call", token=tok)[0] == 404


def _peak_rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_real_gateway_requires_tokens_and_refuses_lying_wav_headers(rasa_down_gateway):
    """Issue 12: no unauthenticated transport; a WAV header claiming 1 Hz, 0 Hz or 2^32-1 Hz is a 400
    with a Chinese message before any decoding (it was 550 MB of memory, or a 500)."""
    gw = rasa_down_gateway
    base = gw.http
    status, body = _post(f"{base}/api/utterance?audio=0", _wav(b"\x00" * 3200))
    assert status == 401 and body["error"] == "unauthorized"
    assert http_json(f"{base}/calls/abc", {"caller": "13800138000"}, token="wrong")[0] == 401
    assert http_json(f"{base}/calls/abc", token=gw.token)[0] == 403          # a client token is not enough
    for url in (f"{base.replace('http', 'ws')}/ws", f"{base.replace('http', 'ws')}/ws?token=wrong"):
        req = urllib.request.Request(url.replace("ws://", "http://"), headers={
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
        try:
            urllib.request.urlopen(req, timeout=10)
            raise AssertionError("websocket upgrade without a token")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
    before = _peak_rss_mb(gw.proc.pid)
    pcm = b"\x00\x01" * 4000                                                 # 8 KB
    for rate in (1, 0, 2**32 - 1):
        data = bytearray(_wav(pcm))
        data[24:28] = rate.to_bytes(4, "little")
        status, body = _post(f"{base}/api/utterance?audio=0", bytes(data), token=gw.token)
        assert status == 400 and body["error"] == "bad_sample_rate", (rate, status, body)
        assert any("\u4e00" <= c <= "\u9fff" for c in body["message"])
    assert _peak_rss_mb(gw.proc.pid) - before < 50
    # a negative Content-Length is refused by the parser, not a hang or a 5xx
    import socket

    host, port = base.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"POST /api/utterance HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\nabc")
        assert s.recv(100).split(b" ")[1] == b"400"
    assert gw.healthy()
