"""PCM helpers: signed 16-bit little-endian mono everywhere inside the gateway."""
from __future__ import annotations

import io
import shutil
import subprocess
import wave

import numpy as np

PIPELINE_RATE = 16000  # the call pipeline works at 16 kHz; transports convert at the edge


class AudioFormatError(ValueError):
    pass


def pcm_to_float(pcm: bytes) -> np.ndarray:
    if len(pcm) % 2:
        pcm = pcm[:-1]
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def float_to_pcm(x: np.ndarray) -> bytes:
    return (np.clip(x, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def resample(pcm: bytes, src: int, dst: int) -> bytes:
    """Resample 16-bit mono PCM with a polyphase anti-aliasing filter (scipy), linear fallback."""
    if src == dst or not pcm:
        return pcm
    x = pcm_to_float(pcm)
    try:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(src, dst)
        y = resample_poly(x, dst // g, src // g).astype(np.float32)
        return float_to_pcm(y)
    except ImportError:  # pragma: no cover - scipy ships with Rasa
        pass
    if dst < src:
        k = max(1, int(round(src / dst)))
        if k > 1:
            x = np.convolve(x, np.ones(k, dtype=np.float32) / k, mode="same")
    n_out = int(round(len(x) * dst / src))
    if n_out <= 0:
        return b""
    t_out = np.arange(n_out, dtype=np.float64) * (src / dst)
    y = np.interp(t_out, np.arange(len(x), dtype=np.float64), x).astype(np.float32)
    return float_to_pcm(y)


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
    x = np.frombuffer(frames[: len(frames) - len(frames) % (2 * ch)], dtype="<i2")
    if ch > 1:
        x = x.reshape(-1, ch).mean(axis=1).astype("<i2")
    return x.tobytes(), rate


def decode_any(data: bytes, rate: int = PIPELINE_RATE, timeout: float = 20.0) -> bytes:
    """Any audio container (AMR, MP3, OGG/Opus, M4A, WAV of any width...) -> pcm16 mono at `rate`.

    WAV 16-bit is decoded in-process; everything else goes through ffmpeg (or sox).
    Blocking: call it in an executor.
    """
    try:
        pcm, src = read_wav(data)
        return resample(pcm, src, rate)
    except AudioFormatError:
        pass
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg:
        cmd = [ffmpeg, "-nostdin", "-loglevel", "error", "-i", "pipe:0", "-f", "s16le", "-ac", "1",
               "-ar", str(rate), "pipe:1"]
    elif shutil.which("sox"):
        cmd = ["sox", "-", "-t", "raw", "-e", "signed", "-b", "16", "-c", "1", "-r", str(rate), "-"]
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
