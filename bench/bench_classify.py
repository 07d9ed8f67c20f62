"""Held-out accuracy and latency of workorders.classify on bench/data/requests_labelled.tsv.

    PYTHONPATH=. .venv/bin/python -m bench.bench_classify            # test split (the reported numbers)
    PYTHONPATH=. .venv/bin/python -m bench.bench_classify --split train --tune-matter   # tuning: train only

The model is trained on split=train only; rules and thresholds were tuned looking at
train-split errors only. Matter accuracy counts rows whose gold matter exists in the
catalogue loaded now (the catalogue is being written in parallel), plus rows without a
gold matter (where the right answer is "no matter").
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# run as a script, sys.path[0] is bench/ whose common.py would shadow the `common` package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from workorders import classify as C  # noqa: E402

FIELDS = ("category", "type", "urgency", "emotion", "refusal", "emergency", "matter")


def gold(row: dict, field: str):
    if field == "refusal":
        return row["refused"] or None
    if field == "emergency":
        return row["emergency"] or None
    if field == "matter":
        return row["matter_id"] or None
    return row[field]


def predicted(c: C.Classification, field: str):
    if field == "refusal":
        return c.refusal["code"] if c.refusal else None
    if field == "emergency":
        return c.emergency
    if field == "matter":
        return c.matter_id
    return getattr(c, field)


def wait_for_catalogue(seconds: float = 60.0):
    """The catalogue files are edited in parallel; retry a while if they are mid-write."""
    from workorders import dispatch
    deadline = time.monotonic() + seconds
    while True:
        cat = dispatch.get_catalogue()
        if cat is not None or time.monotonic() > deadline:
            return cat
        dispatch._catalogue_state["failed_at"] = -1e9
        time.sleep(2)


def evaluate(split: str = "test", rows: list[dict] | None = None) -> dict:
    """Per-field accuracy, confusion pairs and latency over one split."""
    rows = [r for r in (rows or C.read_labelled()) if r.get("split") == split]
    if not rows:
        raise ValueError(f"no rows in split {split!r}")
    C.warm_up()
    cat = wait_for_catalogue()
    known = (lambda mid: mid in cat) if cat is not None else (lambda mid: False)
    results = {f: [] for f in FIELDS}
    confusion = {f: Counter() for f in FIELDS}
    times = []
    wo_gold = wo_pred = 0
    for row in rows:
        t0 = time.perf_counter()
        c = C.classify(row["text"])
        times.append((time.perf_counter() - t0) * 1000)
        for f in FIELDS:
            g, p = gold(row, f), predicted(c, f)
            if f == "matter" and g is not None and not known(g):
                continue   # gold matter not (yet) in the catalogue: not scorable
            if f == "matter" and (row["refused"] or row["emergency"]):
                continue
            results[f].append(g == p)
            if g != p:
                confusion[f][(g, p)] += 1
        wo_gold += not (row["refused"] or row["emergency"])
        wo_pred += c.is_work_order
    times.sort()
    return {
        "split": split, "n": len(rows),
        "accuracy": {f: (sum(v) / len(v) if v else None) for f, v in results.items()},
        "scored": {f: len(v) for f, v in results.items()},
        "confusion": {f: confusion[f].most_common(8) for f in FIELDS},
        "latency_ms": {"p50": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))],
                       "max": times[-1]},
        "work_orders": {"gold": wo_gold, "predicted": wo_pred},
        "n_train": C.get_model().n_train,
        "matter_gold_known": sum(1 for r in rows if r["matter_id"] and known(r["matter_id"])),
        "matter_gold_total": sum(1 for r in rows if r["matter_id"]),
    }


def tune_matter(split: str = "train") -> list[tuple[float, float, int]]:
    """Matter top-1 accuracy per catalogue-score threshold (use on the train split only)."""
    rows = [r for r in C.read_labelled() if r.get("split") == split and not (r["refused"] or r["emergency"])]
    cat = wait_for_catalogue()
    if cat is None:
        return []
    scored = []
    for r in rows:
        g = r["matter_id"] or None
        if g is not None and g not in cat:
            continue
        hits = C._search(r["text"])
        scored.append((g, hits[0].matter_id if hits else None, hits[0].score if hits else 0.0))
    out = []
    for th in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
        ok = sum((p if s >= th else None) == g for g, p, s in scored)
        out.append((th, ok / len(scored), len(scored)))
    return out


def markdown(res: dict) -> str:
    lines = [f"Split `{res['split']}`: {res['n']} requests (model trained on {res['n_train']} train rows).", "",
             "| field | accuracy | scored rows |", "|---|---|---|"]
    for f in FIELDS:
        acc = res["accuracy"][f]
        lines.append(f"| {f} | {acc:.3f} | {res['scored'][f]} |" if acc is not None else f"| {f} | n/a | 0 |")
    lines += ["", f"Latency per classify() after warm-up: p50 {res['latency_ms']['p50']:.2f} ms, "
                  f"p95 {res['latency_ms']['p95']:.2f} ms, max {res['latency_ms']['max']:.2f} ms.",
              f"Work orders (not emergency, not refused): gold {res['work_orders']['gold']}, "
              f"predicted {res['work_orders']['predicted']}.",
              f"Matter gold ids present in the current catalogue: {res['matter_gold_known']} of "
              f"{res['matter_gold_total']}.", "", "Most frequent confusions (gold → predicted, count):", ""]
    for f in FIELDS:
        pairs = ", ".join(f"{g}→{p} ×{n}" for (g, p), n in res["confusion"][f]) or "none"
        lines.append(f"- {f}: {pairs}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="test", choices=["train", "test"])
    ap.add_argument("--tune-matter", action="store_true", help="threshold sweep (train split only)")
    ap.add_argument("--errors", action="store_true", help="print misclassified rows (train split only)")
    args = ap.parse_args(argv)
    if (args.tune_matter or args.errors) and args.split != "train":
        ap.error("tuning/error listing is for the train split only (keep the test split honest)")
    t0 = time.perf_counter()
    C.warm_up()
    print(f"warm-up (train model, catalogue index, directory): {time.perf_counter() - t0:.2f} s\n")
    if args.tune_matter:
        for th, acc, n in tune_matter(args.split):
            print(f"threshold {th:.2f}: matter accuracy {acc:.3f} over {n}")
        return 0
    if args.errors:
        for r in C.read_labelled():
            if r["split"] != "train":
                continue
            c = C.classify(r["text"])
            diffs = [f"{f}: {gold(r, f)}→{predicted(c, f)}" for f in FIELDS if f != "matter"
                     and gold(r, f) != predicted(c, f)]
            if diffs:
                print(r["text"], "|", "; ".join(diffs))
        return 0
    print(markdown(evaluate(args.split)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
