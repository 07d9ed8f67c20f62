"""Test clients written from docs/voice-protocol.md, independent of the gateway's code.

AudioSocket: every message is [type:1][length:2, big-endian][payload]; 0x01 = 16-byte
call UUID (first), 0x10 = 8 kHz s16le mono PCM, 0x03 = one ASCII DTMF digit,
0x00 = hang-up, 0xff = error.

Tokens (HTTP upload, WebSocket, /calls): VOICE_TOKEN / VOICE_CHANNEL_TOKEN, or when unset
derive_key("voice-token" | "voice-channel-token").hex() from the project's secret key.
"""
from __future__ import annotations

import asyncio
import json
import time
import urllib.request
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

AUDIO = Path("/work/shared/audio")


def client_token() -> str:
    import os

    from common.privacy import derive_key

    return os.environ.get("VOICE_TOKEN") or derive_key("voice-token").hex()


def channel_token() -> str:
    import os

    from common.privacy import derive_key

    return os.environ.get("VOICE_CHANNEL_TOKEN") or derive_key("voice-channel-token").hex()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def load_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return x, w.getframerate()


def to_rate(x: np.ndarray, src: int, dst: int) -> bytes:
    """Band-limited resampling, like a telephone network's codec path (scipy polyphase)."""
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(src, dst)
    y = resample_poly(x.astype(np.float64), dst // g, src // g)
    return np.clip(y, -32768, 32767).astype("<i2").tobytes()


def telephone_line(x: np.ndarray, rate: int) -> bytes:
    """Audio at any rate -> 8 kHz s16le through G.711 μ-law (encode + decode), as a PBX delivers it."""
    y = np.frombuffer(to_rate(x, rate, 8000), dtype="<i2").astype(np.float64) / 32768.0
    mu = 255.0
    code = np.round((np.sign(y) * np.log1p(mu * np.abs(y)) / np.log1p(mu) + 1) * 127.5)   # 8-bit code
    z = (code / 127.5) - 1
    back = np.sign(z) * ((1 + mu) ** np.abs(z) - 1) / mu
    return np.clip(back * 32768, -32768, 32767).astype("<i2").tobytes()


def synth(name: str, rate: int) -> bytes:
    x, src = load_wav(AUDIO / "synth" / name)
    return to_rate(x, src, rate)


def pack(kind: int, payload: bytes = b"") -> bytes:
    return bytes([kind]) + len(payload).to_bytes(2, "big") + payload


@dataclass
class CallLog:
    audio_frames: int = 0
    audio_bytes: int = 0
    bad_frames: int = 0
    hangup: bool = False
    error: bool = False
    first_audio_after: list[float] = field(default_factory=list)
    closed: bool = False


class AudioSocketCall:
    def __init__(self, port: int, call_id: uuid.UUID | None = None, host: str = "127.0.0.1"):
        self.port, self.host = port, host
        self.call_id = call_id or uuid.uuid4()
        self.log = CallLog()
        self._mark: float | None = None
        self._reader_task: asyncio.Task | None = None
        self.audio_event = asyncio.Event()

    async def connect(self, send_uuid: bool = True) -> "AudioSocketCall":
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        if send_uuid:
            self.writer.write(pack(0x01, self.call_id.bytes))
            await self.writer.drain()
        self._reader_task = asyncio.create_task(self._read())
        return self

    async def _read(self):
        try:
            while True:
                head = await self.reader.readexactly(3)
                kind, length = head[0], int.from_bytes(head[1:3], "big")
                payload = await self.reader.readexactly(length) if length else b""
                if kind == 0x10:
                    if length != 320:
                        self.log.bad_frames += 1
                    self.log.audio_frames += 1
                    self.log.audio_bytes += length
                    if self._mark is not None:
                        self.log.first_audio_after.append(time.monotonic() - self._mark)
                        self._mark = None
                    self.audio_event.set()
                elif kind == 0x00:
                    self.log.hangup = True
                    return
                elif kind == 0xFF:
                    self.log.error = True
        except (asyncio.IncompleteReadError, ConnectionError):
            self.log.closed = True

    async def send_audio(self, pcm8k: bytes, realtime: bool = True, frame: int = 320) -> None:
        start = time.monotonic()
        for i, off in enumerate(range(0, len(pcm8k), frame)):
            chunk = pcm8k[off:off + frame]
            chunk += b"\x00" * (frame - len(chunk))
            self.writer.write(pack(0x10, chunk))
            await self.writer.drain()
            if realtime:
                delay = start + (i + 1) * 0.02 - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)

    async def say(self, pcm8k: bytes, trailing_silence_s: float = 1.5) -> None:
        """Utterance in real time, then silence frames (like a phone line).

        The latency mark is the end of the last voiced 20 ms frame (RMS above -40 dBFS),
        not the end of the file, so trailing silence in the recording is not counted.
        """
        x = np.frombuffer(pcm8k[: len(pcm8k) & ~1], dtype="<i2").astype(np.float64)
        frames = [x[i:i + 160] for i in range(0, len(x), 160)]
        voiced = [k for k, f in enumerate(frames) if f.size and np.sqrt(np.mean(f ** 2)) > 327]
        last = (voiced[-1] + 1) * 320 if voiced else len(pcm8k)
        await self.send_audio(pcm8k[:last])
        self._mark = time.monotonic()
        await self.send_audio(pcm8k[last:] + b"\x00" * int(16000 * trailing_silence_s))

    async def silence(self, seconds: float) -> None:
        await self.send_audio(b"\x00" * int(16000 * seconds))

    async def dtmf(self, digit: str) -> None:
        self.writer.write(pack(0x03, digit.encode()))
        await self.writer.drain()

    async def hangup(self) -> None:
        try:
            self.writer.write(pack(0x00))
            await self.writer.drain()
        except (ConnectionError, RuntimeError):
            pass
        self.writer.close()
        if self._reader_task is not None and not self._reader_task.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._reader_task), 2)
            except asyncio.TimeoutError:
                self._reader_task.cancel()

    async def wait_hangup(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(asyncio.shield(self._reader_task), timeout)
        except asyncio.TimeoutError:
            pass
        return self.log.hangup


def http_json(url: str, payload: dict | None = None, timeout: float = 30,
              token: str | None = None) -> tuple[int, dict]:
    """JSON request; `token` defaults to the channel token (the /calls API is the dialplan's)."""
    data = json.dumps(payload).encode() if payload is not None else None
    headers = {"Content-Type": "application/json", **bearer(token or channel_token())}
    req = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def events(base: str, call_id: str, token: str | None = None) -> list[dict]:
    status, body = http_json(f"{base}/calls/{call_id}/events", token=token)
    return body.get("events", []) if status == 200 else []


async def wait_for_event(base: str, call_id: str, pred, timeout: float = 30,
                         token: str | None = None) -> dict | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for ev in await asyncio.to_thread(events, base, call_id, token):
            if pred(ev):
                return ev
        await asyncio.sleep(0.3)
    return None
