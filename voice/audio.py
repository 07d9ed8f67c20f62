"""PCM helpers: signed 16-bit little-endian mono everywhere inside the gateway."""
from __future__ import annotations

import io
import shutil
import struct
import subprocess
import wave
from dataclasses import dataclass
from math import gcd

import numpy as np
from scipy.signal import resample_poly

PIPELINE_RATE = 16000  # the call pipeline works at 16 kHz; transports convert at the edge


MIN_RATE, MAX_RATE = 8000, 48000      # sample rates accepted from outside (Hz)
MAX_CHANNELS = 2
_PCM_WIDTHS = (8, 16, 24, 32, 64)      # bits per sample for PCM / float / A-law / mu-law WAVs
_PCM_TAGS = (0x0001, 0x0003, 0x0006, 0x0007, 0xFFFE)


class AudioFormatError(ValueError):
    pass


class AudioLimitError(ValueError):
    """Audio refused from its header before any decoding: an HTTP status and a Chinese message."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class WavHeader:
    format_tag: int
    channels: int
    rate: int
    bits: int
    byte_rate: int
    data_bytes: int          # what the file really holds (the declared size capped by the body)
    declared_bytes: int

    @property
    def seconds(self) -> float:
        if self.format_tag in _PCM_TAGS and self.bits:
            per_second = self.rate * self.channels * ((self.bits + 7) // 8)
        else:
            per_second = self.byte_rate
        return self.data_bytes / per_second if per_second > 0 else float("inf")


def parse_wav_header(data: bytes, max_chunks: int = 64) -> WavHeader | None:
    """The fmt/data chunks of a RIFF/WAVE file, without decoding; None when it is not a WAV.

    Walks at most `max_chunks` chunks; sizes never allocate (they index into `data`).
    Raises AudioLimitError for a WAV whose fmt chunk is missing or truncated.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    pos, fmt = 12, None
    for _ in range(max_chunks):
        if pos + 8 > len(data):
            break
        cid, size = data[pos:pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        body = pos + 8
        if cid == b"fmt ":
            if size < 16 or body + 16 > len(data):
                break
            tag, ch, rate, byte_rate, _align, bits = struct.unpack_from("<HHIIHH", data, body)
            if tag == 0xFFFE and size >= 40 and body + 26 <= len(data):
                tag = struct.unpack_from("<H", data, body + 24)[0]  # sub-format GUID's first 2 bytes
                tag = tag if tag in _PCM_TAGS else 0xFFFE
            fmt = (tag, ch, rate, byte_rate, bits)
        elif cid == b"data":
            if fmt is None:
                break
            available = max(0, len(data) - body)
            tag, ch, rate, byte_rate, bits = fmt
            return WavHeader(tag, ch, rate, bits, byte_rate, min(size, available), size)
        pos = body + size + (size & 1)
    raise AudioLimitError(400, "bad_audio_header", "WAV 文件头不完整或已损坏，无法识别音频格式。")


def check_wav_header(data: bytes, max_seconds: float) -> WavHeader | None:
    """Reject a WAV from its header alone: sample rate, channels, sample width, duration.

    None for other containers (they are decoded by ffmpeg with a duration cap).
    """
    h = parse_wav_header(data)
    if h is None:
        return None
    if not MIN_RATE <= h.rate <= MAX_RATE:
        raise AudioLimitError(400, "bad_sample_rate",
                              f"音频采样率 {h.rate} Hz 不支持，只接受 {MIN_RATE}–{MAX_RATE} Hz 的录音。")
    if not 1 <= h.channels <= MAX_CHANNELS:
        raise AudioLimitError(400, "bad_channels", f"音频声道数 {h.channels} 不支持，只接受单声道或双声道。")
    if h.format_tag in _PCM_TAGS:
        if h.bits not in _PCM_WIDTHS:
            raise AudioLimitError(400, "bad_sample_width", f"音频采样位数 {h.bits} 不支持（只接受 8/16/24/32 位）。")
    elif not 0 <= h.bits <= 32 or h.byte_rate <= 0 or h.byte_rate > MAX_RATE * MAX_CHANNELS * 8:
        raise AudioLimitError(400, "bad_audio_header", "WAV 文件头里的编码参数不合理，无法处理。")
    if h.seconds > max_seconds:
        raise AudioLimitError(413, "too_long", f"音频太长：最长 {max_seconds:g} 秒，请分段发送。")
    return h


def pcm_to_float(pcm: bytes) -> np.ndarray:
    if len(pcm) % 2:
        pcm = pcm[:-1]
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def float_to_pcm(x: np.ndarray) -> bytes:
    return (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def resample(pcm: bytes, src: int, dst: int) -> bytes:
    """Resample 16-bit mono PCM with a polyphase anti-aliasing filter (scipy)."""
    if src == dst or not pcm:
        return pcm
    g = gcd(src, dst)
    return float_to_pcm(resample_poly(pcm_to_float(pcm), dst // g, src // g).astype(np.float32))


def rms_dbfs(pcm: bytes) -> float:
    x = pcm_to_float(pcm)
    if x.size == 0:
        return -120.0
    r = float(np.sqrt(np.mean(x * x)))
    return 20 * np.log10(max(r, 1e-6))


def wav_bytes(pcm: bytes, rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return buf.getvalue()


def read_wav(data: bytes) -> tuple[bytes, int]:
    """(pcm16 mono, rate) from WAV bytes; raises AudioFormatError for anything else."""
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            ch, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError, ValueError) as exc:
        raise AudioFormatError(f"not a PCM WAV file: {exc}") from exc
    if width != 2:
        raise AudioFormatError("only 16-bit WAV is read directly")
    if not 1 <= ch <= 8 or not 1000 <= rate <= 384000:
        raise AudioFormatError(f"implausible WAV header ({ch} channels, {rate} Hz)")
    x = np.frombuffer(frames[: len(frames) - len(frames) % (2 * ch)], dtype="<i2")
    if ch > 1:
        x = x.reshape(-1, ch).mean(axis=1).astype("<i2")
    return x.tobytes(), rate


def decode_any(data: bytes, rate: int = PIPELINE_RATE, timeout: float = 20.0,
               max_seconds: float | None = None) -> bytes:
    """Any audio container (AMR, MP3, OGG/Opus, M4A, WAV of any width...) -> pcm16 mono at `rate`.

    WAV 16-bit is decoded in-process; everything else goes through ffmpeg (or sox).
    With `max_seconds` (anything from outside): a WAV header is checked first
    (check_wav_header -> AudioLimitError) and converters stop after max_seconds + 1 s,
    so no input can make the output (or this process) large.
    Blocking: call it in an executor.
    """
    if max_seconds is not None:
        check_wav_header(data, max_seconds)
    try:
        pcm, src = read_wav(data)
        return resample(pcm, src, rate)
    except AudioFormatError:
        pass
    cap = [] if max_seconds is None else ["-t", f"{max_seconds + 1:g}"]
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg:
        cmd = [ffmpeg, "-nostdin", "-loglevel", "error", "-i", "pipe:0", *cap, "-f", "s16le", "-ac", "1",
               "-ar", str(rate), "pipe:1"]
    elif shutil.which("sox"):
        cmd = ["sox", "-", "-t", "raw", "-e", "signed", "-b", "16", "-c", "1", "-r", str(rate), "-"]
        if max_seconds is not None:
            cmd += ["trim", "0", f"{max_seconds + 1:g}"]
    else:
        raise AudioFormatError("unsupported audio format (no ffmpeg/sox to convert it)")
    try:
        proc = subprocess.run(cmd, input=data, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise AudioFormatError("audio conversion timed out") from exc
    if proc.returncode != 0 or not proc.stdout:
        raise AudioFormatError("could not decode the audio (unsupported or corrupt file)")
    return proc.stdout


class StreamResampler:
    """Resample a stream of small frames without edge artifacts at every frame boundary.

    Each frame is filtered with real neighbours on both sides (context of `ctx` samples),
    so the output is delayed by one input frame (20 ms on AudioSocket).
    """

    def __init__(self, src: int, dst: int, ctx: int = 64):
        from math import gcd

        g = gcd(src, dst)
        self.up, self.down = dst // g, src // g
        self.ctx = ctx
        self.hist = np.zeros(ctx, dtype=np.float32)
        self.pending = np.zeros(0, dtype=np.float32)

    def push(self, pcm: bytes) -> bytes:
        from scipy.signal import resample_poly

        frame = pcm_to_float(pcm)
        if self.pending.size == 0:
            self.pending = frame
            return b""
        right = frame[: self.ctx]
        data = np.concatenate([self.hist, self.pending, right])
        y = resample_poly(data, self.up, self.down)
        start = self.hist.size * self.up // self.down
        length = self.pending.size * self.up // self.down
        out = y[start:start + length]
        self.hist = np.concatenate([self.hist, self.pending])[-self.ctx:]
        self.pending = frame
        return float_to_pcm(out.astype(np.float32))
