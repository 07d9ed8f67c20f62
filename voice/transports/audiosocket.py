"""Asterisk AudioSocket transport (TCP).

Wire format (both directions): 1 byte type, 2 bytes big-endian payload length, payload.
  0x00 hang-up (length 0)          0x01 call UUID (16 bytes, first message)
  0x03 DTMF digit (1 ASCII byte)   0x10 audio: signed 16-bit LE mono PCM, 8 kHz (20 ms = 320 bytes)
  0xff error (optional payload)
The gateway answers with 0x10 frames paced in real time and ends with 0x00 after a
hand-off (the dialplan then reads GET /calls/{uuid} -> {"handoff": true}).

AudioSocket carries no credentials: only peers listed in VOICE_AUDIOSOCKET_ALLOW
(addresses / CIDR networks, default loopback only) are served; anyone else is
disconnected before a byte is read.  Over VOICE_MAX_CALLS concurrent calls the caller
hears a short busy prompt (BUSY_TEXT) and the gateway hangs up.
"""
from __future__ import annotations

import asyncio
import logging
import struct
import uuid as uuidlib

from voice import audio as A
from voice import security
from voice.pipeline import BUSY_TEXT, CallSession, CallSink

log = logging.getLogger("voice.audiosocket")

KIND_HANGUP, KIND_UUID, KIND_DTMF, KIND_AUDIO, KIND_ERROR = 0x00, 0x01, 0x03, 0x10, 0xFF
RATE = 8000
FRAME_BYTES = 320
HEADER = struct.Struct(">BH")


class ProtocolError(ValueError):
    pass


def encode_frame(kind: int, payload: bytes = b"") -> bytes:
    if not 0 <= kind <= 0xFF:
        raise ValueError("frame type is one byte")
    if len(payload) > 0xFFFF:
        raise ValueError("payload longer than 65535 bytes")
    return HEADER.pack(kind, len(payload)) + payload


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One frame; raises asyncio.IncompleteReadError when the peer goes away mid-frame."""
    header = await reader.readexactly(3)
    kind, length = HEADER.unpack(header)
    payload = await reader.readexactly(length) if length else b""
    return kind, payload


class AudioSocketSink(CallSink):
    out_rate = RATE

    def __init__(self, writer: asyncio.StreamWriter):
        self.writer = writer
        self.closed = False

    async def send_audio(self, frame: bytes) -> None:
        if self.closed or self.writer.is_closing():
            raise ConnectionError("AudioSocket peer gone")
        for off in range(0, len(frame), FRAME_BYTES):
            self.writer.write(encode_frame(KIND_AUDIO, frame[off:off + FRAME_BYTES]))
        await self.writer.drain()

    async def close(self, handoff: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.writer.write(encode_frame(KIND_HANGUP))
            await self.writer.drain()
        except (ConnectionError, OSError):
            pass
        self.writer.close()


class AudioSocketServer:
    def __init__(self, services, host: str, port: int, limiter: security.CallLimiter | None = None,
                 allow: str | None = None):
        self.services = services
        self.host, self.port = host, port
        self.server: asyncio.AbstractServer | None = None
        self.active: set[CallSession] = set()
        config = services.config
        self.limiter = limiter or security.CallLimiter(config.max_calls)
        self.allow = security.parse_allow(allow if allow is not None else config.audiosocket_allow)
        self.refused_peers = 0
        self._busy_prompts = 0
        if self.allow is None:
            log.warning("AudioSocket accepts every peer (VOICE_AUDIOSOCKET_ALLOW=*)")

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, self.host, self.port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for session in list(self.active):
            await session.hangup()

    async def _busy(self, writer: asyncio.StreamWriter) -> None:
        """Over the call cap: a short spoken busy prompt (if it can be had quickly), then hang up."""
        if self._busy_prompts < self.limiter.limit:
            self._busy_prompts += 1
            try:
                pcm = await asyncio.wait_for(
                    self.services.tts.synthesize(BUSY_TEXT, self.services.config.tts_rate), timeout=3)
                pcm = A.resample(pcm, 16000, RATE)[: RATE * 2 * 10]
                loop = asyncio.get_running_loop()
                start = loop.time()
                for i, off in enumerate(range(0, len(pcm), FRAME_BYTES)):
                    chunk = pcm[off:off + FRAME_BYTES].ljust(FRAME_BYTES, b"\x00")
                    writer.write(encode_frame(KIND_AUDIO, chunk))
                    await writer.drain()
                    delay = start + (i + 1) * 0.02 - 0.06 - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
            except Exception as exc:  # noqa: BLE001 - the hang-up below matters, the prompt does not
                log.debug("busy prompt not played: %s", exc)
            finally:
                self._busy_prompts -= 1
        try:
            writer.write(encode_frame(KIND_HANGUP))
            await writer.drain()
        except (ConnectionError, OSError):
            pass

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if not security.peer_allowed(peer, self.allow):
            self.refused_peers += 1
            if self.refused_peers <= 10 or self.refused_peers % 1000 == 0:   # no log flood
                log.warning("AudioSocket connection from %s refused (not in VOICE_AUDIOSOCKET_ALLOW; %d so far)",
                            peer[0] if isinstance(peer, (tuple, list)) and peer else "?", self.refused_peers)
            writer.close()
            return
        sink = AudioSocketSink(writer)
        session: CallSession | None = None
        acquired = False
        try:
            kind, payload = await asyncio.wait_for(read_frame(reader), timeout=10)
            if kind != KIND_UUID or len(payload) != 16:
                raise ProtocolError(f"first frame must be the 16-byte UUID (got type 0x{kind:02x})")
            call_id = str(uuidlib.UUID(bytes=payload))
            if not self.limiter.try_acquire():
                log.warning("AudioSocket call refused: %d calls already (VOICE_MAX_CALLS)", self.limiter.active)
                await self._busy(writer)
                return
            acquired = True
            await self.services.ready.wait()
            caller = self.services.registry.caller_for(call_id)
            session = CallSession(self.services, call_id, sink, caller=caller, channel="voice")
            upsample = A.StreamResampler(RATE, 16000)
            self.active.add(session)
            await session.start()
            while not session.closed:
                kind, payload = await read_frame(reader)
                if kind == KIND_AUDIO:
                    await session.push_audio(upsample.push(payload[: len(payload) & ~1]))
                elif kind == KIND_DTMF:
                    digit = payload[:1].decode("ascii", "replace")
                    if digit and digit in "0123456789*#ABCD":
                        await session.push_dtmf(digit)
                elif kind == KIND_HANGUP:
                    break
                elif kind == KIND_ERROR:
                    log.warning("AudioSocket peer reported an error (%d bytes)", len(payload))
                    break
                else:  # unknown frame types are skipped, the call goes on
                    log.debug("ignored AudioSocket frame type 0x%02x", kind)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass  # peer went away (possibly mid-frame)
        except asyncio.CancelledError:
            pass  # server shutting down
        except asyncio.TimeoutError:
            log.warning("AudioSocket peer sent no UUID")
        except ProtocolError as exc:
            log.warning("AudioSocket protocol error: %s", exc)
            try:
                writer.write(encode_frame(KIND_ERROR))
                await writer.drain()
            except (ConnectionError, OSError):
                pass
        except Exception:  # noqa: BLE001 - never let one call take the server down
            log.exception("AudioSocket call failed")
        finally:
            if session is not None:
                await session.hangup()
                self.active.discard(session)
            if acquired:
                self.limiter.release()
            if not writer.is_closing():
                writer.close()
