"""Catalogue benchmark: search accuracy/latency and NLU matter accuracy on a labelled set.

    PYTHONPATH=. .venv/bin/python bench/bench_catalogue.py            # search + NLU
    PYTHONPATH=. .venv/bin/python bench/bench_catalogue.py --no-nlu   # search only

Data: bench/data/matter_queries.tsv (utterance<TAB>matter_id).  Rows whose matter
is not in the catalogue are counted as misses (and reported).  NLU uses the trained
model (common.training.ensure_model) in-process through rasa.core.agent; the matter
is the `matter` entity when it names a matter id, else what action_answer_matter
would find by searching the words (the same fallback the bot uses).
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from catalogue.loader import load_catalogue  # noqa: E402
from catalogue.search import ACCEPT_SCORE_HINT, get_index, search  # noqa: E402

DATA = ROOT / "bench" / "data" / "matter_queries.tsv"


def load_rows(path: Path = DATA) -> list[tuple[str, str]]:
    with open(path, encoding="utf-8") as fh:
        rows = [(r["utterance"].strip(), r["matter_id"].strip()) for r in csv.DictReader(fh, delimiter="\t")]
    return [r for r in rows if r[0] and r[1]]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def bench_search(rows, catalogue, show_misses: bool) -> dict:
    get_index(catalogue)  # build once, outside the timing
    top1 = top3 = 0
    lat = []
    misses = []
    for text, gold in rows:
        t0 = time.perf_counter()
        hits = search(text, 5, catalogue=catalogue)
        lat.append((time.perf_counter() - t0) * 1000)
        ids = [h.matter_id for h in hits]
        top1 += ids[:1] == [gold]
        top3 += gold in ids[:3]
        if ids[:1] != [gold]:
            misses.append((text, gold, [(h.matter_id, round(h.score, 2)) for h in hits[:3]]))
    # Latency over the whole catalogue: repeat the set to get stable percentiles.
    for _ in range(4):
        for text, _gold in rows:
            t0 = time.perf_counter()
            search(text, 5, catalogue=catalogue)
            lat.append((time.perf_counter() - t0) * 1000)
    if show_misses:
        for m in misses:
            print("MISS", *m, sep="\t")
    n = len(rows)
    return {"n": n, "top1": top1 / n, "top3": top3 / n, "p50_ms": statistics.median(lat),
            "p95_ms": pct(lat, 0.95), "misses": len(misses)}


async def bench_nlu(rows, catalogue, show_misses: bool) -> dict:
    from rasa.core.agent import Agent

    from common.training import ensure_model

    model = ensure_model(quiet=True)
    agent = Agent.load(str(model))
    top1 = top3 = ask_intent = 0
    lat = []
    for text, gold in rows:
        t0 = time.perf_counter()
        parsed = await agent.parse_message(text)
        lat.append((time.perf_counter() - t0) * 1000)
        intent = (parsed.get("intent") or {}).get("name", "")
        ask_intent += intent.startswith("ask_")
        ranked = [e["value"] for e in parsed.get("entities", [])
                  if e.get("entity") == "matter" and e.get("value") in catalogue]
        for value in [e.get("value") for e in parsed.get("entities", []) if e.get("entity") == "matter"]:
            if value not in catalogue:
                ranked += [h.matter_id for h in search(str(value), 3, catalogue=catalogue)
                           if h.score >= ACCEPT_SCORE_HINT]
        ranked += [h.matter_id for h in search(text, 3, catalogue=catalogue)]
        ids = list(dict.fromkeys(ranked))
        top1 += ids[:1] == [gold]
        top3 += gold in ids[:3]
        if show_misses and ids[:1] != [gold]:
            print("NLU-MISS", text, gold, intent, json.dumps(parsed.get("entities", []), ensure_ascii=False)[:200],
                  sep="\t")
    n = len(rows)
    return {"n": n, "top1": top1 / n, "top3": top3 / n, "ask_intent": ask_intent / n,
            "p50_ms": statistics.median(lat), "p95_ms": pct(lat, 0.95), "model": model.name}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--no-nlu", action="store_true")
    ap.add_argument("--misses", action="store_true", help="print every miss")
    args = ap.parse_args(argv)
    catalogue = load_catalogue(strict=False)
    rows = load_rows()
    missing = sorted({gold for _t, gold in rows if gold not in catalogue})
    print(f"catalogue: {len(catalogue)} matters, {len(catalogue.departments)} departments; "
          f"labelled set: {len(rows)} utterances over {len({g for _t, g in rows})} matters"
          + (f"; {len(missing)} labels not in catalogue: {' '.join(missing)}" if missing else ""))
    s = bench_search(rows, catalogue, args.misses)
    print(f"search: top-1 {s['top1']:.1%}  top-3 {s['top3']:.1%}  latency p50 {s['p50_ms']:.2f} ms  "
          f"p95 {s['p95_ms']:.2f} ms  (n={s['n']})")
    if not args.no_nlu:
        r = asyncio.run(bench_nlu(rows, catalogue, args.misses))
        print(f"nlu:    top-1 {r['top1']:.1%}  top-3 {r['top3']:.1%}  ask_* intent {r['ask_intent']:.1%}  "
              f"parse p50 {r['p50_ms']:.1f} ms  p95 {r['p95_ms']:.1f} ms  (model {r['model']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
