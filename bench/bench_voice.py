"""Voice gateway benchmark: ASR CER, pipeline intent/matter accuracy, AudioSocket latency, capacity.

    PYTHONPATH=. .venv/bin/python bench/bench_voice.py                 # everything (~6 min on 2 cores)
    PYTHONPATH=. .venv/bin/python bench/bench_voice.py --only asr      # CER + accuracy (needs Rasa: starts the stack)
    PYTHONPATH=. .venv/bin/python bench/bench_voice.py --only latency --calls 20 --levels 1,2,4,6

Parts:
1. CER of the gateway's Whisper engine on /work/shared/audio/real (7 human recordings),
   also with faster-whisper's stock transcribe() (30 s padding) for comparison.
2. The 35 synth utterances through ASR -> front end -> Rasa NLU (/model/parse), with and
   without the front end.  "intent ok" = same intent as the reference text gives;
   "matter ok" (matter utterances) = same matter as the reference text (entity, else search).
   The expectation (yes/no, digits, rating) is what the bot would be asking at that point.
3. AudioSocket latency: a test client streams 8 kHz 20 ms frames in real time; we time the end
   of the caller's speech (last voiced frame sent) -> first bot audio frame received.
4. Capacity: N simultaneous calls, p95 of that latency.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import time
import urllib.request
import uuid
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stats import edit_distance, percentile  # noqa: E402
from tests.voice.client import AudioSocketCall, synth, to_rate  # noqa: E402

AUDIO = Path("/work/shared/audio")
EXPECT = {"affirm": "yesno", "deny": "yesno", "digits": "digits", "rate": "rating", "name": "name",
          "correction": "digits"}
LATENCY_SET = ["000.wav", "017.wav", "030.wav", "034.wav", "011.wav", "014.wav"]


def manifest(folder: str) -> list[dict]:
    lines = (AUDIO / folder / "manifest.tsv").read_text(encoding="utf-8").splitlines()
    head = lines[0].split("\t")
    return [dict(zip(head, l.split("\t"))) for l in lines[1:] if l.strip()]


def pcm16k(path: Path, via_phone: bool = False) -> bytes:
    """16 kHz PCM; via_phone: through an 8 kHz telephone band first (AudioSocket path)."""
    with wave.open(str(path)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        rate = w.getframerate()
    if via_phone:
        from voice.audio import StreamResampler

        pcm8 = to_rate(x, rate, 8000)
        up = StreamResampler(8000, 16000)
        return b"".join(up.push(pcm8[i:i + 320]) for i in range(0, len(pcm8), 320)) + up.push(b"\x00" * 320)
    return x.tobytes() if rate == 16000 else to_rate(x, rate, 16000)


def clean(text: str) -> str:
    """Characters only; Arabic digits read as Chinese digits (ASR writes 1-2线 for 一二线)."""
    text = (text or "").translate(str.maketrans("0123456789", "零一二三四五六七八九"))
    return re.sub(r"[^\u3400-\u9fff0-9A-Za-z]", "", text)


def cer(ref: str, hyp: str) -> tuple[int, int]:
    r, h = clean(ref), clean(hyp)
    return edit_distance(r, h), len(r)


def bench_cer(engine) -> dict:
    from faster_whisper import WhisperModel  # noqa: F401
    from voice.engines.asr import to_audio_data, to_simplified

    rows = manifest("real")
    out = {"fast": [0, 0], "stock": [0, 0], "fast_s": [], "stock_s": [], "rows": []}
    for row in rows:
        pcm = pcm16k(AUDIO / "real" / row["file"])
        res = engine.transcribe(to_audio_data(pcm))
        t0 = time.perf_counter()
        x = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768
        segs, _ = engine.model.transcribe(x, language="zh", beam_size=engine.beam_size,
                                          condition_on_previous_text=False, without_timestamps=True)
        stock = to_simplified("".join(s.text for s in segs))
        out["stock_s"].append(time.perf_counter() - t0)
        out["fast_s"].append(res.seconds)
        for key, hyp in (("fast", res.text), ("stock", stock)):
            e, n = cer(row["transcript"], hyp)
            out[key][0] += e
            out[key][1] += n
        out["rows"].append((row["transcript"], res.text, stock))
    return out


def parse(rasa: str, text: str) -> dict:
    req = urllib.request.Request(f"{rasa}/model/parse", data=json.dumps({"text": text}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def matter_of(parsed: dict, text: str) -> str | None:
    for ent in parsed.get("entities", []):
        if ent.get("entity") == "matter" and "." in str(ent.get("value", "")):
            return str(ent["value"])
    try:
        from catalogue.search import ACCEPT_SCORE_HINT, search

        hits = search(text, 1)
        if hits and hits[0].score >= ACCEPT_SCORE_HINT:
            return hits[0].matter_id
    except Exception:  # noqa: BLE001
        pass
    return None


def bench_accuracy(engine, rasa: str, via_phone: bool = False) -> dict:
    from voice.engines.asr import Hints, to_audio_data
    from voice.frontend import Frontend, default_lexicon

    on, off = Frontend(default_lexicon(), True), Frontend(None, False)
    rows = manifest("synth")
    res = {"on": {"intent": 0, "matter": 0, "exact": 0}, "off": {"intent": 0, "matter": 0, "exact": 0},
           "n": len(rows), "n_matter": 0, "detail": [], "asr_s": []}
    for row in rows:
        audio = to_audio_data(pcm16k(AUDIO / "synth" / row["file"], via_phone))
        expect = EXPECT.get(row["kind"], "free")
        ref = parse(rasa, row["utterance"])
        ref_matter = matter_of(ref, row["utterance"]) if row["kind"] == "matter" else None
        res["n_matter"] += row["kind"] == "matter"
        line = [row["file"], row["utterance"]]
        for key, fe in (("off", off), ("on", on)):
            hint = Hints(prompt=fe.hints_prompt(expect))
            asr = engine.transcribe(audio, hint)
            res["asr_s"].append(asr.seconds)
            text = fe.process(asr.text, expect, lambda c: engine.score(audio, c)).text
            p = parse(rasa, text)
            ok = p["intent"]["name"] == ref["intent"]["name"]
            res[key]["intent"] += ok
            res[key]["exact"] += clean(text) == clean(row["utterance"])
            if row["kind"] == "matter":
                res[key]["matter"] += matter_of(p, text) == ref_matter and ref_matter is not None
            line += [text, p["intent"]["name"], "ok" if ok else "MISS"]
        line.append(ref["intent"]["name"])
        res["detail"].append(line)
    return res


TIMINGS: list[dict] = []


async def one_call(port: int, name: str, results: list, greet_wait: float = 0.8, http: str | None = None) -> None:
    call = await AudioSocketCall(port).connect()
    try:
        await asyncio.wait_for(call.audio_event.wait(), 60)
        await call.silence(greet_wait)
        x = np.frombuffer(synth(name, 8000), dtype="<i2")
        await call.say(x.tobytes(), trailing_silence_s=4.0)
        if call.log.first_audio_after:
            results.append(call.log.first_audio_after[0])
        else:
            results.append(float("inf"))
    finally:
        await call.hangup()
    if http:
        from tests.voice.client import events

        TIMINGS.extend(e for e in await asyncio.to_thread(events, http, str(call.call_id))
                       if e["type"] == "timing")


async def bench_latency(port: int, calls: int, levels: list[int], http: str | None = None) -> dict:
    out = {}
    seq: list[float] = []
    for i in range(calls):
        await one_call(port, LATENCY_SET[i % len(LATENCY_SET)], seq, http=http)
    out["sequential"] = seq
    for level in levels:
        lat: list[float] = []
        rounds = max(1, 12 // level)
        for r in range(rounds):
            await asyncio.gather(*(one_call(port, LATENCY_SET[(r + k) % len(LATENCY_SET)], lat,
                                            greet_wait=0.8 + 0.13 * k) for k in range(level)))
        out[f"concurrent_{level}"] = lat
    return out


def fmt(values: list[float]) -> str:
    finite = [v for v in values if v != float("inf")]
    miss = len(values) - len(finite)
    if not finite:
        return "no answers"
    return (f"p50 {percentile(finite, 50):.2f} s, p95 {percentile(finite, 95):.2f} s "
            f"(n={len(finite)}{', %d unanswered' % miss if miss else ''})")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["asr", "latency"], default=None)
    ap.add_argument("--calls", type=int, default=18)
    ap.add_argument("--levels", default="2,4,6")
    ap.add_argument("--beam", type=int, default=1)
    ap.add_argument("--model", default=None, help="Rasa model .tar.gz (default: bot.training.ensure_model)")
    args = ap.parse_args()

    from common.launcher import Stack
    from common.settings import Ports
    from tests.conftest import free_port
    import tempfile

    ports = Ports(rasa=free_port(), actions=free_port(), staff_api=free_port(), voice=free_port(),
                  audiosocket=free_port(), redis=free_port())
    stack = Stack(ports=ports, data_dir=Path(tempfile.mkdtemp(prefix="bench-voice-")),
                  model=Path(args.model).resolve() if args.model else None,
                  extra_env={"VOICE_ASR_BEAM": str(args.beam)})
    print("[bench-voice] starting the stack ...", flush=True)
    stack.start()
    report = []
    try:
        rasa = f"http://localhost:{ports.rasa}"
        if args.only in (None, "asr"):
            from voice.engines.asr import WhisperEngine

            engine = WhisperEngine(ROOT / "models" / "asr" / "whisper-base", beam_size=args.beam, cpu_threads=2)
            c = bench_cer(engine)
            report.append(f"CER on {len(c['rows'])} real recordings (beam {args.beam}): "
                          f"gateway engine {c['fast'][0] / c['fast'][1]:.1%} "
                          f"(ASR {statistics.mean(c['fast_s']):.2f} s/utt), stock faster-whisper transcribe "
                          f"{c['stock'][0] / c['stock'][1]:.1%} ({statistics.mean(c['stock_s']):.2f} s/utt)")
            for ref, fast, stock in c["rows"]:
                print(f"  {ref} | {fast} | {stock}")
            for via_phone in (False, True):
                a = bench_accuracy(engine, rasa, via_phone)
                band = "8 kHz phone band" if via_phone else "16 kHz"
                for key, label in (("off", "without front end"), ("on", "with front end")):
                    r = a[key]
                    report.append(f"35 synth utterances, {band}, {label}: intent {r['intent']}/{a['n']} "
                                  f"({r['intent'] / a['n']:.0%}), matter {r['matter']}/{a['n_matter']}, "
                                  f"exact transcript {r['exact']}/{a['n']}")
                print(f"--- {band}: file | reference | no front end: text, intent | with: text, intent | ref intent")
                for line in a["detail"]:
                    print("  " + " | ".join(line))
                report.append(f"ASR time per synth utterance ({band}): {fmt(a['asr_s'])}")
        if args.only in (None, "latency"):
            levels = [int(v) for v in args.levels.split(",") if v]
            lat = asyncio.run(bench_latency(ports.audiosocket, args.calls, levels, f"http://127.0.0.1:{ports.voice}"))
            report.append(f"AudioSocket end of speech -> first bot audio, 1 call at a time: {fmt(lat['sequential'])}")
            if TIMINGS:
                parts = {k: statistics.median(t[k] for t in TIMINGS if k in t)
                         for k in ("vad_end_to_first_audio", "asr", "asr_wait", "rasa", "tracker")
                         if any(k in t for t in TIMINGS)}
                report.append("  median per turn inside the gateway (s, from the VAD's end-of-turn): "
                              + ", ".join(f"{k} {v:.3f}" for k, v in parts.items()))
            for level in levels:
                report.append(f"  {level} simultaneous calls: {fmt(lat[f'concurrent_{level}'])}")
    finally:
        stack.stop()
    import os

    report.append(f"load average at the end: {os.getloadavg()[0]:.2f} (2 cores shared with other work)")
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
