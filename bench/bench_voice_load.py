"""AudioSocket load generator: N simultaneous callers against the real gateway and the real bot.

    PYTHONPATH=. .venv/bin/python bench/bench_voice_load.py --model models/govdesk-1ff6db722fdf3ad1.tar.gz \
        --levels 1,2,5,10 --turns 3 --variants fifo,fair

What runs: Redis + action server + Rasa (common.launcher.Stack, free ports, the given model) and
one voice gateway subprocess per variant (``VOICE_ASR_SCHED=fifo`` = the previous single
first-come-first-served ASR executor, ``fair`` = the shared round-robin pool, voice/asr_pool.py).
Both gateways stay up for the whole run and every level is measured on both, one after the
other, so the comparison is made under the same machine load.

Wire (AudioSocket, docs/voice-protocol.md): [type:1][len:2 BE][payload]; 0x01 16-byte UUID first,
0x10 audio = 8 kHz s16le mono, 20 ms = 320 bytes, both ways; 0x00 hang-up. Each caller sends a
frame every 20 ms for the whole call (silence between utterances, as a PBX does); its speech
goes through G.711 μ-law and back before framing (the telephone codec path).

Each caller: waits for the greeting to end, then says ``--turns`` utterances taken in rotation
from real human recordings (/work/shared/audio/real) and synthesized caller utterances
(/work/shared/audio/synth), each after the bot's previous reply has ended (a caller who is
still being talked to after 15 s interrupts: barge-in). Per turn it records the end of the
last voiced frame sent -> the first bot audio frame received. A turn with no bot audio within
``--starve`` seconds (default 5) is starved; a call with a starved turn is a starved call.
The gateway's own per-turn timings (``timing`` events: VAD end -> first audio, ASR wait, ASR,
Rasa, tracker, first TTS chunk) are read from GET /calls/{id}/events and reported beside the
client's figure; per turn, VAD end -> first audio minus the sum of those parts is the pipeline's
own overhead, reported as median, p95 and share of the parts (issue 15's goal: <= 10 %).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stats import percentile  # noqa: E402
from voice.config import VoiceConfig  # noqa: E402
from tests.voice.client import telephone_line  # noqa: E402

AUDIO = Path("/work/shared/audio")
# Utterances that neither end the call (hand-off, goodbye, cancel, emergencies) nor need a
# question asked first (digits, names, yes/no, ratings).
SYNTH = ["003.wav", "011.wav", "000.wav", "007.wav", "028.wav", "017.wav", "006.wav", "008.wav",
         "010.wav", "027.wav", "004.wav", "029.wav", "012.wav", "009.wav", "005.wav"]
REAL = ["mandarin/aishell1_BAC009S0764W0121.wav", "mandarin/triton_mini_zh_mid.wav",
        "mandarin/sensevoice_example_zh.wav", "mandarin/aishell1_BAC009S0724W0121.wav",
        "mandarin/funasr_example_0_asr_example.wav", "mandarin/aishell1_BAC009S0764W0122.wav"]
FRAME = 320          # bytes: 20 ms of 8 kHz s16le
VOICED_RMS = 327     # -40 dBFS: the end of speech is the last frame above it


# ---------------------------------------------------------------- audio
def load_8k(path: Path) -> bytes:
    """WAV -> 8 kHz s16le through G.711 μ-law (encode + decode), as a PBX delivers it."""
    with wave.open(str(path)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        rate = w.getframerate()
    return telephone_line(x, rate)


def last_voiced_end(pcm: bytes) -> int:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    n = len(x) // 160
    rms = [np.sqrt(np.mean(x[i * 160:(i + 1) * 160] ** 2)) for i in range(n)]
    voiced = [i for i, r in enumerate(rms) if r > VOICED_RMS]
    return (voiced[-1] + 1) * FRAME if voiced else len(pcm)


def pack(kind: int, payload: bytes = b"") -> bytes:
    return bytes([kind]) + len(payload).to_bytes(2, "big") + payload


# ---------------------------------------------------------------- one caller
@dataclass
class Turn:
    utterance: str
    latency: float | None = None       # end of speech -> first bot frame (None: none within --starve)
    barge_in: bool = False
    contaminated: bool = False         # a frame of the previous reply arrived right at the mark


@dataclass
class CallResult:
    call_id: str
    turns: list[Turn] = field(default_factory=list)
    greeting_s: float | None = None
    ended_by_gateway: bool = False
    error: str | None = None
    timings: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)


class Caller:
    def __init__(self, port: int):
        self.port = port
        self.call_id = uuid.uuid4()
        self.uplink: list[bytes] = []          # frames waiting to be sent (speech)
        self.mark_pending = False              # set the mark when the uplink empties
        self.mark: float | None = None
        self.first_after_mark: float | None = None
        self.last_rx = 0.0
        self.rx_frames = 0
        self.hung_up = asyncio.Event()
        self.reply = asyncio.Event()

    async def _send_loop(self) -> None:
        start = time.monotonic()
        i = 0
        silence = b"\x00" * FRAME
        while not self.hung_up.is_set():
            frame = self.uplink.pop(0) if self.uplink else silence
            self.writer.write(pack(0x10, frame))
            if not self.uplink and self.mark_pending:
                self.mark_pending = False
                self.mark = time.monotonic()
                self.first_after_mark = None
                self.reply.clear()
            await self.writer.drain()
            i += 1
            delay = start + i * 0.02 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.2:                    # we fell behind (loaded box): resync, don't burst
                start, i = time.monotonic(), 0

    async def _read_loop(self) -> None:
        try:
            while True:
                head = await self.reader.readexactly(3)
                kind, length = head[0], int.from_bytes(head[1:3], "big")
                if length:
                    await self.reader.readexactly(length)
                if kind == 0x10:
                    now = time.monotonic()
                    self.last_rx = now
                    self.rx_frames += 1
                    if self.mark is not None and self.first_after_mark is None:
                        self.first_after_mark = now
                        self.reply.set()
                elif kind == 0x00:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        self.hung_up.set()
        self.reply.set()

    async def quiet(self, gap: float, cap: float) -> bool:
        """Wait until no bot audio for `gap` s (True) or `cap` s passed (False)."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < cap and not self.hung_up.is_set():
            if time.monotonic() - self.last_rx >= gap:
                return True
            await asyncio.sleep(0.05)
        return False

    async def run(self, utterances: list[tuple[str, bytes]], starve: float, start_delay: float) -> CallResult:
        res = CallResult(str(self.call_id))
        await asyncio.sleep(start_delay)
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(pack(0x01, self.call_id.bytes))
        tasks = [asyncio.create_task(self._read_loop()), asyncio.create_task(self._send_loop())]
        try:
            t0 = time.monotonic()
            while self.rx_frames == 0 and time.monotonic() - t0 < 60 and not self.hung_up.is_set():
                await asyncio.sleep(0.05)
            res.greeting_s = time.monotonic() - t0 if self.rx_frames else None
            await self.quiet(0.7, 30)
            for name, pcm in utterances:
                if self.hung_up.is_set():
                    break
                turn = Turn(name)
                turn.barge_in = not await self.quiet(0.7, 15)
                await asyncio.sleep(random.uniform(0.2, 0.8))      # the caller thinks a moment
                end = last_voiced_end(pcm)
                frames = [pcm[o:o + FRAME].ljust(FRAME, b"\x00") for o in range(0, end, FRAME)]
                self.mark = None
                self.uplink.extend(frames)
                self.mark_pending = True
                while self.mark_pending and not self.hung_up.is_set():
                    await asyncio.sleep(0.01)
                if self.mark is None:
                    break
                turn.contaminated = self.mark - self.last_rx < 0.1
                try:
                    await asyncio.wait_for(self.reply.wait(), starve)
                except asyncio.TimeoutError:
                    pass
                if self.first_after_mark is not None:
                    turn.latency = self.first_after_mark - self.mark
                elif self.hung_up.is_set():
                    break
                res.turns.append(turn)
                if turn.latency is None:                          # keep waiting so the next turn is clean
                    try:
                        await asyncio.wait_for(self.reply.wait(), 30)
                    except asyncio.TimeoutError:
                        pass
            res.ended_by_gateway = self.hung_up.is_set()
        except Exception as exc:  # noqa: BLE001 - one failed call is reported, not fatal
            res.error = repr(exc)
        finally:
            if not self.hung_up.is_set():
                try:
                    self.writer.write(pack(0x00))
                    await self.writer.drain()
                except (ConnectionError, RuntimeError):
                    pass
            self.hung_up.set()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.writer.close()
        return res


# ---------------------------------------------------------------- gateway
@dataclass
class Gateway:
    name: str
    proc: subprocess.Popen
    http: str
    audiosocket: int
    channel_token: str
    log_path: Path


def start_gateway(name: str, stack_env: dict, data_dir: Path, extra: dict) -> Gateway:
    from tests.conftest import free_port

    vp, ap = free_port(), free_port()
    token = secrets.token_hex(16)
    env = dict(os.environ, **stack_env)
    env.update(VOICE_PORT=str(vp), AUDIOSOCKET_PORT=str(ap), PYTHONPATH=str(ROOT),
               GOVDESK_DATA_DIR=str(data_dir / name), VOICE_CHANNEL_TOKEN=token,
               VOICE_TOKEN=secrets.token_hex(16), VOICE_REPROMPT_S="60", VOICE_MAX_CALLS="20", **extra)
    (data_dir / name).mkdir(parents=True, exist_ok=True)
    log_path = data_dir / f"gateway-{name}.log"
    proc = subprocess.Popen([sys.executable, "-m", "voice.gateway"], cwd=ROOT, env=env,
                            stdout=open(log_path, "wb"), stderr=subprocess.STDOUT, start_new_session=True)
    return Gateway(name, proc, f"http://127.0.0.1:{vp}", ap, token, log_path)


def wait_healthy(gw: Gateway, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gw.proc.poll() is not None:
            raise RuntimeError(f"gateway {gw.name} exited: {gw.log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{gw.http}/health", timeout=3) as r:
                if r.status == 200 and json.loads(r.read()).get("asr_ready", True):
                    return
        except Exception:  # noqa: BLE001
            pass
        time.sleep(0.5)
    raise TimeoutError(f"gateway {gw.name} not healthy")


def gateway_events(gw: Gateway, call_id: str) -> list[dict]:
    req = urllib.request.Request(f"{gw.http}/calls/{call_id}/events",
                                 headers={"Authorization": f"Bearer {gw.channel_token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read()).get("events", [])
    except Exception:  # noqa: BLE001
        return []


# ---------------------------------------------------------------- one level
async def run_level(gw: Gateway, n: int, turns: int, starve: float, clips: dict, seed: int) -> list[CallResult]:
    rng = random.Random(seed)
    names = [("real/" + r) for r in REAL] + [("synth/" + s) for s in SYNTH]
    calls = []
    for k in range(n):
        picks = []
        for t in range(turns):      # alternate real and synth, rotated per caller
            pool = REAL if (k + t) % 2 == 0 else SYNTH
            folder = "real/" if pool is REAL else "synth/"
            picks.append(folder + pool[(k * 7 + t * 3 + seed) % len(pool)])
        calls.append(Caller(gw.audiosocket).run([(p, clips[p]) for p in picks], starve, rng.uniform(0, 2.0)))
    assert all(p in clips for p in names)
    results = await asyncio.gather(*calls)
    for r in results:
        r.events = await asyncio.to_thread(gateway_events, gw, r.call_id)
        r.timings = [e for e in r.events if e.get("type") == "timing"]
        if any(t.latency is None for t in r.turns) or r.ended_by_gateway:   # what the gateway did
            print(f"[voice-load] starved/ended call {r.call_id} on {gw.name}: turns "
                  f"{[(t.utterance, t.latency) for t in r.turns]}; events "
                  f"{[(e.get('type'), e.get('text') or e.get('heard') or e.get('reason') or '') for e in r.events]}",
                  flush=True)
    return results


def summarize(results: list[CallResult], starve: float) -> dict:
    lat = [t.latency for r in results for t in r.turns if t.latency is not None and not t.contaminated]
    starved_turns = sum(1 for r in results for t in r.turns if t.latency is None)
    starved_calls = sum(1 for r in results if any(t.latency is None for t in r.turns) or r.error
                        or r.greeting_s is None)
    tim = [t for r in results for t in r.timings]

    def med(key):
        vals = [t[key] for t in tim if key in t]
        return round(statistics.median(vals), 3) if vals else None

    # Per turn, the gateway's VAD end -> first audio beside the sum of its measured parts; the rest is
    # the pipeline's own overhead (queues, frames, scheduling), as a share of the parts.
    PARTS = ("asr_wait", "rasa", "tracker", "tts_first")
    whole = [t for t in tim if "vad_end_to_first_audio" in t and "rasa" in t and "tts_first" in t]
    parts = [sum(t.get(k, 0.0) for k in PARTS) for t in whole]
    over = [max(0.0, t["vad_end_to_first_audio"] - p) for t, p in zip(whole, parts)]
    ratio = round(sum(over) / sum(parts), 3) if parts and sum(parts) > 0 else None
    # The caller's side: end of speech -> first audio beside the end-of-turn rule + the gateway's
    # parts, per turn, for calls whose answered turns and timing events pair one to one.
    eot = VoiceConfig().end_of_turn_ms / 1000
    client_over, client_parts = [], []
    for r in results:
        answered = [t for t in r.turns if t.latency is not None]
        if len(answered) != len(r.timings):
            continue
        for t, g in zip(answered, r.timings):
            if t.contaminated or "tts_first" not in g:
                continue
            p = eot + sum(g.get(k, 0.0) for k in PARTS)
            client_parts.append(p)
            client_over.append(t.latency - p)
    return {"client_overhead_med": round(statistics.median(client_over), 3) if client_over else None,
            "client_overhead_ratio": (round(sum(client_over) / sum(client_parts), 3) if client_parts else None),
            "overhead_med": round(statistics.median(over), 3) if over else None,
            "overhead_p95": round(percentile(over, 95), 3) if over else None,
            "overhead_ratio": ratio, "parts_med": round(statistics.median(parts), 3) if parts else None,
            "turns": sum(len(r.turns) for r in results), "answered": len(lat),
            "p50": percentile(lat, 50) if lat else None, "p95": percentile(lat, 95) if lat else None,
            "max": max(lat) if lat else None, "starved_turns": starved_turns, "starved_calls": starved_calls,
            "contaminated": sum(1 for r in results for t in r.turns if t.contaminated),
            "barge_in": sum(1 for r in results for t in r.turns if t.barge_in),
            "ended_by_gateway": sum(1 for r in results if r.ended_by_gateway),
            "errors": [r.error for r in results if r.error],
            "second_pass": sum(1 for r in results for e in r.events
                               if e.get("type") == "transcript" and e.get("second_pass")),
            "gw_first_audio": med("vad_end_to_first_audio"), "gw_asr_wait": med("asr_wait"),
            "gw_asr": med("asr"), "gw_rasa": med("rasa"), "gw_tracker": med("tracker"),
            "gw_tts_first": med("tts_first")}


def fmt_s(v) -> str:
    return "—" if v is None else f"{v:.2f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="trained Rasa model .tar.gz")
    ap.add_argument("--levels", default="1,2,5,10")
    ap.add_argument("--turns", type=int, default=3)
    ap.add_argument("--variants", default="fifo,fair", help="VOICE_ASR_SCHED values to compare")
    ap.add_argument("--starve", type=float, default=5.0)
    ap.add_argument("--json", default=None, help="write the raw results here")
    args = ap.parse_args()

    from common.launcher import Stack
    from common.settings import Ports
    from tests.conftest import free_port

    clips = {"real/" + r: load_8k(AUDIO / "real" / r) for r in REAL}
    clips.update({"synth/" + s: load_8k(AUDIO / "synth" / s) for s in SYNTH})
    data = Path(tempfile.mkdtemp(prefix="bench-voice-load-"))
    ports = Ports(rasa=free_port(), rasa_internal=free_port(), actions=free_port(), staff_api=free_port(),
                  voice=free_port(), audiosocket=free_port(), redis=free_port())
    stack = Stack(ports=ports, data_dir=data / "stack", model=Path(args.model).resolve(), with_optional=False)
    gateways: list[Gateway] = []
    rows = []
    print(f"[voice-load] load before start {os.getloadavg()}", flush=True)
    try:
        stack.start()
        for name in args.variants.split(","):
            gateways.append(start_gateway(name, stack.env(), data, {"VOICE_ASR_SCHED": name}))
        for gw in gateways:
            wait_healthy(gw)
        time.sleep(20)     # let both gateways finish warming their TTS caches
        for gw in gateways:  # one call each, not counted: the bot's first turns are slow (cold caches)
            asyncio.run(run_level(gw, 1, 2, args.starve, clips, seed=99))
        print(f"[voice-load] warmed up; load {os.getloadavg()}", flush=True)
        for i, level in enumerate(int(v) for v in args.levels.split(",")):
            order = gateways if i % 2 == 0 else list(reversed(gateways))   # alternate who goes first
            for gw in order:
                load0 = os.getloadavg()[0]
                t0 = time.monotonic()
                results = asyncio.run(run_level(gw, level, args.turns, args.starve, clips, seed=i))
                s = summarize(results, args.starve)
                s["detail"] = [{"call": r.call_id, "turns": [(t.utterance, t.latency, t.contaminated) for t in r.turns],
                                "timings": r.timings} for r in results]
                s.update(variant=gw.name, calls=level, load1=round((load0 + os.getloadavg()[0]) / 2, 2),
                         wall_s=round(time.monotonic() - t0, 1))
                rows.append(s)
                print(f"[voice-load] {gw.name:4} {level:2} calls: p50 {fmt_s(s['p50'])} s p95 {fmt_s(s['p95'])} s "
                      f"max {fmt_s(s['max'])} s, {s['answered']}/{s['turns']} turns answered, starved calls "
                      f"{s['starved_calls']}/{level}, gw first-audio {fmt_s(s['gw_first_audio'])} asr_wait "
                      f"{fmt_s(s['gw_asr_wait'])} asr {fmt_s(s['gw_asr'])} rasa {fmt_s(s['gw_rasa'])} tts1 {fmt_s(s['gw_tts_first'])}, "
                      f"overhead med {fmt_s(s['overhead_med'])} s p95 {fmt_s(s['overhead_p95'])} s = {s['overhead_ratio']} of parts (caller side incl. EOT rule: {s['client_overhead_ratio']}), "
                      f"load {s['load1']}, 2nd passes {s['second_pass']}, contaminated {s['contaminated']}, ended by gw {s['ended_by_gateway']}, "
                      f"errors {s['errors'][:2]}", flush=True)
    finally:
        for gw in gateways:
            gw.proc.terminate()
            try:
                gw.proc.wait(15)
            except subprocess.TimeoutExpired:
                gw.proc.kill()
        stack.stop()
    print("\n| variant | calls | turns answered | p50 (s) | p95 (s) | max (s) | starved calls | gateway: first audio / ASR wait / ASR / Rasa / first TTS chunk (median, s) | pipeline overhead: median / p95 (s), share of parts; caller side incl. EOT rule | load avg |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for s in rows:
        print(f"| {s['variant']} | {s['calls']} | {s['answered']}/{s['turns']} | {fmt_s(s['p50'])} | {fmt_s(s['p95'])} | "
              f"{fmt_s(s['max'])} | {s['starved_calls']} | {fmt_s(s['gw_first_audio'])} / {fmt_s(s['gw_asr_wait'])} / "
              f"{fmt_s(s['gw_asr'])} / {fmt_s(s['gw_rasa'])} / {fmt_s(s['gw_tts_first'])} | {fmt_s(s['overhead_med'])} / "
              f"{fmt_s(s['overhead_p95'])}, {s['overhead_ratio']}; {s['client_overhead_ratio']} | {s['load1']} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, ensure_ascii=False, indent=1))
    print(f"[voice-load] load at the end {os.getloadavg()}, logs in {data}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
