"""Issue 12, voice part: authentication, sender ids from the server, bounded input, TTS cache.

In-process: the real aiohttp app / AudioSocket server / CallSession with a scripted bot,
the tone TTS and a fake recogniser (no model, no Rasa).
"""
from __future__ import annotations

import asyncio
import io
import os
import socket
import struct
import time
import uuid
import wave
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import aiohttp
import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer

from voice import audio as A
from voice import security
from voice.config import VoiceConfig
from voice.engines.tts import TTSService
from voice.frontend import Frontend
from voice.gateway import make_app, start_http
from voice.pipeline import CallSession, CallSink, TurnQueue
from voice.services import CallRegistry
from voice.transports.audiosocket import AudioSocketServer

CLIENT, CHANNEL = "client-token-for-tests", "channel-token-for-tests"


# ------------------------------------------------------------------ fixtures
class ScriptedBot:
    def __init__(self):
        self.got: list[tuple[str, str, dict]] = []

    async def send(self, sender, text, metadata):
        self.got.append((sender, text, metadata))
        return [{"text": "好的。"}]

    async def tracker(self, sender):
        return {"slots": {}}


def make_services(**cfg):
    config = VoiceConfig()
    config.token, config.channel_token = CLIENT, CHANNEL
    config.reprompt_s = 3600
    for k, v in cfg.items():
        setattr(config, k, v)
    ready = asyncio.Event()
    ready.set()

    async def recognize(pcm, expectation):
        asr = SimpleNamespace(text="你好", seconds=0.01, no_speech_prob=0.0)
        fe = SimpleNamespace(text="你好", corrected=False, method="exact", expectation=expectation)
        return asr, fe

    return SimpleNamespace(config=config, rasa=ScriptedBot(), registry=CallRegistry(), frontend=Frontend(enabled=True),
                           tts=TTSService("tone"), ready=ready, cpu_executor=ThreadPoolExecutor(2),
                           recognize=recognize)


async def settle(client) -> None:
    """Let the server finish the calls the test hung up (no pending call tasks at teardown)."""
    for _ in range(100):
        if client.server.app["calls"].active == 0:
            return
        await asyncio.sleep(0.05)


@pytest.fixture
async def gw():
    services = make_services()
    client = TestClient(TestServer(make_app(services)))
    await client.start_server()
    client.services = services
    yield client
    await settle(client)
    await client.close()
    services.cpu_executor.shutdown(wait=False)


def wav(rate: int = 16000, seconds: float = 0.5, channels: int = 1, width: int = 2) -> bytes:
    n = int(16000 * seconds)
    tone = (np.sin(np.arange(n) / 16000 * 2 * np.pi * 300) * 8000).astype("<i2").tobytes()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(16000)
        w.writeframes(tone)
    return buf.getvalue() if rate == 16000 else with_rate(buf.getvalue(), rate)


def with_rate(data: bytes, rate: int, channels: int | None = None, bits: int | None = None) -> bytes:
    """The same file with a lying fmt chunk (sample rate / channels / bits)."""
    out = bytearray(data)
    struct.pack_into("<I", out, 24, rate)
    if channels is not None:
        struct.pack_into("<H", out, 22, channels)
    if bits is not None:
        struct.pack_into("<H", out, 34, bits)
    return bytes(out)


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


# ------------------------------------------------------------------ 1. authentication
async def test_upload_requires_a_token(gw):
    for headers in ({}, auth("wrong"), {"Authorization": "Basic " + CLIENT}, auth("")):
        resp = await gw.post("/api/utterance?audio=0", data=wav(), headers=headers)
        body = await resp.json()
        assert resp.status == 401 and body["error"] == "unauthorized" and has_chinese(body["message"])
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert gw.services.rasa.got == []
    resp = await gw.post("/api/utterance?audio=0", data=wav(), headers=auth(CLIENT))
    assert resp.status == 200, await resp.text()


async def test_websocket_requires_a_token(gw):
    for url in ("/ws", "/ws?token=wrong"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as exc:
            await gw.ws_connect(url)
        assert exc.value.status == 401
    for url, headers in ((f"/ws?token={CLIENT}", {}), ("/ws", auth(CLIENT))):
        ws = await gw.ws_connect(url, headers=headers)
        ready = await ws.receive_json(timeout=10)
        assert ready["type"] == "ready"
        await ws.send_json({"type": "hangup"})
        await ws.close()


async def test_call_records_need_the_channel_token(gw):
    call = str(uuid.uuid4())
    for headers, status in (({}, 401), (auth(CLIENT), 403), (auth(CHANNEL), 200)):
        resp = await gw.post(f"/calls/{call}", json={"caller": "13800138000"}, headers=headers)
        assert resp.status == status
        if status != 200:
            assert has_chinese((await resp.json())["message"])
    assert (await gw.get(f"/calls/{call}/events")).status == 401
    assert (await gw.get(f"/calls/{call}", headers=auth(CLIENT))).status == 403
    assert (await gw.get("/health")).status == 200      # open, no data


async def test_a_client_cannot_choose_whose_conversation_it_writes_into(gw):
    bot = gw.services.rasa
    victim_call = str(uuid.uuid4())
    assert (await gw.post(f"/calls/{victim_call}", json={"caller": "13800138000"}, headers=auth(CHANNEL))).status == 200
    from common.privacy import caller_key

    victim = caller_key("13800138000")
    # HTTP upload: sender= / caller= are not taken from the client
    resp = await gw.post(f"/api/utterance?audio=0&sender={victim}&caller=13800138000", data=wav(),
                         headers=auth(CLIENT))
    assert resp.status == 200
    sender, _, meta = bot.got[-1]
    assert sender != victim and sender.startswith("voice-") and meta["caller"] is None
    # the same session label keeps its own conversation; another label gets another one
    await gw.post(f"/api/utterance?audio=0&session={victim}", data=wav(), headers=auth(CLIENT))
    assert bot.got[-1][0] == sender
    await gw.post("/api/utterance?audio=0&session=mine", data=wav(), headers=auth(CLIENT))
    assert bot.got[-1][0] not in (sender, victim, "mine")
    # WebSocket: neither caller=, sender= nor the phone call's call_id take over the phone caller
    ws = await gw.ws_connect(f"/ws?token={CLIENT}&caller=13800138000&sender={victim}&call_id={victim_call}")
    ready = await ws.receive_json(timeout=10)
    assert ready["call_id"] != victim_call
    for _ in range(100):
        if any(t == "/call_start" for _, t, _ in bot.got):
            break
        await asyncio.sleep(0.05)
    sender, text, meta = bot.got[-1]
    assert text == "/call_start" and sender != victim and sender.startswith("voice-") and meta["caller"] is None
    await ws.close()
    rec = gw.services.registry.get(victim_call)
    assert rec is None or not rec.events     # nothing was written into the phone call's record


async def test_the_channel_token_keeps_the_connectors_sender(gw):
    """The WeChat connectors authenticate their users themselves and pass their own sender id."""
    resp = await gw.post("/api/utterance?audio=0&sender=wx-abc&channel=wechat", data=wav(), headers=auth(CHANNEL))
    assert resp.status == 200
    sender, _, meta = gw.services.rasa.got[-1]
    assert sender == "wx-abc" and meta["channel"] == "wechat"


def test_tokens_default_to_keys_derived_from_the_secret_key(monkeypatch):
    from common.privacy import derive_key

    monkeypatch.delenv("VOICE_TOKEN", raising=False)
    monkeypatch.delenv("VOICE_CHANNEL_TOKEN", raising=False)
    assert security.client_token() == derive_key("voice-token").hex()
    assert security.channel_token() == derive_key("voice-channel-token").hex()
    assert security.client_token() != security.channel_token()
    a = security.Authenticator()
    assert a.check(derive_key("voice-token").hex()).role == security.CLIENT
    assert a.check(derive_key("voice-channel-token").hex()).role == security.CHANNEL
    assert a.check("") is None and a.check("x" * 64) is None and a.check("令牌") is None
    monkeypatch.setenv("VOICE_TOKEN", "from-env")
    assert security.Authenticator().check("from-env").role == security.CLIENT


# ------------------------------------------------------------------ AudioSocket peers
def test_audiosocket_allow_list_parsing():
    nets = security.parse_allow(None)            # default: loopback only
    assert security.peer_allowed(("127.0.0.1", 5), nets)
    assert security.peer_allowed(("::1", 5, 0, 0), nets)
    assert security.peer_allowed(("::ffff:127.0.0.1", 5, 0, 0), nets)
    assert not security.peer_allowed(("10.1.2.3", 5), nets)
    assert not security.peer_allowed(("garbage", 5), nets)
    nets = security.parse_allow("10.0.0.0/8, 192.168.1.7")
    assert security.peer_allowed(("10.9.9.9", 1), nets) and security.peer_allowed(("192.168.1.7", 1), nets)
    assert not security.peer_allowed(("127.0.0.1", 1), nets)
    assert security.parse_allow("*") is None and security.peer_allowed(("8.8.8.8", 1), None)


async def _audiosocket(allow: str | None, **cfg):
    services = make_services(**cfg)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = AudioSocketServer(services, "127.0.0.1", port, allow=allow)
    await server.start()
    return services, server, port


async def _read_frames(reader, timeout: float) -> list[tuple[int, int]]:
    frames = []
    try:
        while True:
            head = await asyncio.wait_for(reader.readexactly(3), timeout)
            kind, length = head[0], int.from_bytes(head[1:], "big")
            if length:
                await reader.readexactly(length)
            frames.append((kind, length))
            if kind == 0x00:
                break
    except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
        pass
    return frames


async def test_audiosocket_refuses_peers_not_allowed():
    services, server, port = await _audiosocket("10.0.0.0/8")
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        call = uuid.uuid4()
        writer.write(b"\x01\x00\x10" + call.bytes)
        await writer.drain()
        try:
            got = await asyncio.wait_for(reader.read(100), 3)
        except ConnectionResetError:
            got = b""
        assert got == b""                                          # closed, nothing served
        writer.close()
        assert services.registry.get(str(call)) is None and server.refused_peers == 1
    finally:
        await server.stop()


# ------------------------------------------------------------------ 2. concurrent calls
async def test_concurrent_calls_are_capped_on_every_transport():
    services = make_services(max_calls=1)
    client = TestClient(TestServer(make_app(services)))
    await client.start_server()
    limiter = client.server.app["calls"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    audiosocket = AudioSocketServer(services, "127.0.0.1", port, limiter=limiter)
    await audiosocket.start()
    try:
        first = await client.ws_connect(f"/ws?token={CLIENT}&call_start=0")
        assert (await first.receive_json(timeout=10))["type"] == "ready"
        assert limiter.active == 1
        # HTTP: 503 + Retry-After, Chinese message
        resp = await client.post("/api/utterance?audio=0", data=wav(), headers=auth(CLIENT))
        body = await resp.json()
        assert resp.status == 503 and int(resp.headers["Retry-After"]) > 0 and has_chinese(body["message"])
        # WebSocket: an error event, then close 1013 with a reason
        second = await client.ws_connect(f"/ws?token={CLIENT}")
        event = await second.receive_json(timeout=5)
        assert event["type"] == "error" and event["error"] == "busy"
        msg = await second.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 1013 and has_chinese(msg.extra)
        # AudioSocket: a busy prompt, then the hang-up frame
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"\x01\x00\x10" + uuid.uuid4().bytes)
        frames = await _read_frames(reader, 10)
        writer.close()
        assert frames and frames[-1] == (0x00, 0) and any(k == 0x10 for k, _ in frames)
        assert not audiosocket.active
        # the first call ends: there is room again
        await first.send_json({"type": "hangup"})
        await first.close()
        for _ in range(50):
            if limiter.active == 0:
                break
            await asyncio.sleep(0.05)
        resp = await client.post("/api/utterance?audio=0", data=wav(), headers=auth(CLIENT))
        assert resp.status == 200 and limiter.active == 0
    finally:
        await audiosocket.stop()
        await client.close()


# ------------------------------------------------------------------ 2. bounded input
@pytest.mark.parametrize("rate", [1, 0, 2**32 - 1, 7999, 48001])
async def test_wav_sample_rate_is_checked_before_decoding(gw, rate):
    lying = with_rate(wav(seconds=0.25), rate)             # 8 KB claiming e.g. 1 Hz (was 550 MB, or a 500)
    resp = await gw.post("/api/utterance?audio=0", data=lying, headers=auth(CLIENT))
    body = await resp.json()
    assert resp.status == 400 and body["error"] == "bad_sample_rate" and has_chinese(body["message"])
    assert "Hz" in body["message"]


@pytest.mark.parametrize("channels,bits,code", [(0, None, "bad_channels"), (9, None, "bad_channels"),
                                                (65535, None, "bad_channels"), (None, 12, "bad_sample_width"),
                                                (None, 0, "bad_sample_width")])
async def test_wav_channels_and_sample_width_are_checked(gw, channels, bits, code):
    data = with_rate(wav(seconds=0.25), 16000, channels=channels, bits=bits)
    resp = await gw.post("/api/utterance?audio=0", data=data, headers=auth(CLIENT))
    body = await resp.json()
    assert resp.status == 400 and body["error"] == code and has_chinese(body["message"])


async def test_declared_duration_over_the_cap_is_413_before_decoding(gw):
    long_8k = with_rate(wav(seconds=16), 8000)                     # 512 KB = 32 s at 8 kHz
    resp = await gw.post("/api/utterance?audio=0", data=long_8k, headers=auth(CLIENT))
    body = await resp.json()
    assert resp.status == 413 and body["error"] == "too_long" and has_chinese(body["message"])


def test_decode_refuses_lying_headers_without_allocating():
    import tracemalloc

    tracemalloc.start()
    try:
        for rate in (1, 0, 2**32 - 1):
            with pytest.raises(A.AudioLimitError) as exc:
                A.decode_any(with_rate(wav(seconds=0.25), rate), 16000, max_seconds=30)
            assert exc.value.status == 400
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * 1024 * 1024
    # a truncated header is a clear 400 too, and a normal WAV still decodes
    with pytest.raises(A.AudioLimitError):
        A.decode_any(b"RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00", max_seconds=30)
    assert len(A.decode_any(with_rate(wav(seconds=1.0), 8000), 16000, max_seconds=30)) == 64000  # 2 s


async def test_multipart_fields_are_bounded(gw):
    form = aiohttp.FormData()
    form.add_field("session", "x" * (3 * 1024 * 1024))          # a 3 MB "parameter"
    form.add_field("audio", wav(), filename="a.wav", content_type="audio/wav")
    resp = await gw.post("/api/utterance?audio=0", data=form, headers=auth(CLIENT))
    assert resp.status in (400, 413) and has_chinese((await resp.json())["message"])


async def test_websocket_messages_are_bounded(gw):
    ws = await gw.ws_connect(f"/ws?token={CLIENT}&call_start=0")
    assert (await ws.receive_json(timeout=10))["type"] == "ready"
    await ws.send_bytes(b"\x00" * (256 * 1024))
    while True:
        msg = await ws.receive(timeout=10)
        if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
            break
    assert ws.close_code == 1009                                  # message too big


class _Sink(CallSink):
    async def send_audio(self, frame):
        pass


async def test_turn_queue_and_keyed_digits_are_bounded():
    services = make_services(max_queued_turns=4)
    session = CallSession(services, "q1", _Sink())                # worker not started: nothing is consumed
    for _ in range(100):
        for d in "123#":
            await session.push_dtmf(d)
    assert session._turns.qsize() <= 4
    assert any(e["type"] == "turn_dropped" for e in session.record.events)
    await session.push_dtmf("1")
    for _ in range(10000):
        await session.push_dtmf("9")
    assert len(session._dtmf) <= 32
    # a hand-off is never the one dropped
    q = TurnQueue(2)
    q.put_nowait(("handoff", "dtmf_0"))
    for i in range(5):
        q.put_nowait(("audio", (b"", None)))
    assert q.qsize() == 2 and (await q.get())[0] == "handoff"


# ------------------------------------------------------------------ 2. header / read timeouts
async def test_http_header_and_body_timeouts():
    services = make_services(header_timeout_s=0.5, read_timeout_s=0.5, keepalive_s=1.0)
    app = make_app(services)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    services.config.host = "127.0.0.1"
    runner, site = await start_http(app, services.config, port)
    await site.start()
    try:
        # slowloris: a request head that never ends is cut off
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        await writer.drain()
        t0 = time.monotonic()
        assert await asyncio.wait_for(reader.read(100), 5) == b""
        assert time.monotonic() - t0 < 3
        writer.close()
        # a body that never arrives: 408, not a connection held forever
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /api/utterance HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + CLIENT.encode()
                     + b"\r\nContent-Length: 100000\r\n\r\nRIFF")
        await writer.drain()
        got = await asyncio.wait_for(reader.read(), 6)             # ... and the server closes it
        assert got.startswith(b"HTTP/1.1 408")
        writer.close()
        # a normal request on a fresh connection is unaffected
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await writer.drain()
        assert (await asyncio.wait_for(reader.read(1000), 5)).startswith(b"HTTP/1.1 200")
        writer.close()
    finally:
        await runner.cleanup()


# ------------------------------------------------------------------ 3. TTS cache and personal data
async def test_tts_disk_cache_holds_only_fixed_sentences_privately(tmp_path):
    cache = tmp_path / "tts-cache"
    cache.mkdir(mode=0o755)
    cache.chmod(0o755)
    legacy = cache / ("0" * 24 + ".pcm")                          # left by an older version: personal data
    legacy.write_bytes(b"\x00" * 100)
    legacy.chmod(0o644)
    tts = TTSService("tone", cache_dir=cache, cache_ttl_s=3600, cache_max_bytes=10 * 1024 * 1024)
    try:
        personal = "张三您好，您的手机号是13800138000。"
        await tts.synthesize(personal, 130)
        assert [p for p in cache.iterdir() if p != legacy] == []   # nothing personal written to disk
        fixed = "您还在吗？"
        await asyncio.get_running_loop().run_in_executor(None, tts.set_persistent, [fixed], [130, 100])
        assert not legacy.exists()                                  # pruned
        assert cache.stat().st_mode & 0o777 == 0o700
        await tts.synthesize(fixed, 130)
        files = list(cache.iterdir())
        assert len(files) == 1 and files[0].stat().st_mode & 0o777 == 0o600
        await tts.synthesize("您的身份证号是110105199001010012。", 130)
        assert len(list(cache.iterdir())) == 1
        # expired files are not used and are deleted
        old = time.time() - 7200
        os.utime(files[0], (old, old))
        tts2 = TTSService("tone", cache_dir=cache, cache_ttl_s=3600)
        tts2._persistent = tts._persistent
        await tts2.synthesize(fixed, 130)
        assert tts2.stats["disk"] == 0 and tts2.stats["synth"] == 1
        assert files[0].stat().st_mtime > old                       # rewritten fresh
        tts2.close()
        # size cap
        tts3 = TTSService("tone", cache_dir=cache, cache_ttl_s=3600, cache_max_bytes=1)
        await asyncio.get_running_loop().run_in_executor(None, tts3.set_persistent, [fixed], [130])  # blocking
        assert list(cache.iterdir()) == []
        tts3.close()
    finally:
        tts.close()
