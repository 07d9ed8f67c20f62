"""Dispatch on the full-size generated directory: load time, memory, route() latency.

    PYTHONPATH=. .venv/bin/python scripts/gen_directory.py      # var/directory/full.jsonl.gz
    PYTHONPATH=. .venv/bin/python -m bench.bench_dispatch
"""
from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from workorders.classify import classify, warm_up  # noqa: E402
from workorders.directory import load_directory  # noqa: E402
from workorders.dispatch import route  # noqa: E402

REQUESTS = ["停电两天了", "养殖场往河里排粪水，鱼都死了", "有人在路边违章建房把路占了", "低保咋申请",
            "邻居占了我家的地，吵了好几年", "班车停了老人没法去看病", "身份证丢了咋补办", "有人在村里搞赌博"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--path", type=Path, default=ROOT / "var" / "directory" / "full.jsonl.gz")
    ap.add_argument("--rounds", type=int, default=5000)
    args = ap.parse_args(argv)
    if not args.path.exists():
        print(f"{args.path} missing: run scripts/gen_directory.py first", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    load_directory(args.path)
    plain_load_s = time.perf_counter() - t0
    gc.collect()
    tracemalloc.start()
    t0 = time.perf_counter()
    d = load_directory(args.path)
    load_s = time.perf_counter() - t0
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    c = d.counts()
    warm_up()
    cls = [classify(t) for t in REQUESTS]
    places = d.places("village") + d.places("township")
    locs = [{"village_id": p.id} if p.level == "village" else {"township_id": p.id} for p in places]
    for i in range(200):
        route(cls[i % len(cls)], locs[i % len(locs)], d)
    times = []
    for i in range(args.rounds):
        c_, loc = cls[i % len(cls)], locs[(i * 7919) % len(locs)]
        t = time.perf_counter()
        a = route(c_, loc, d)
        times.append((time.perf_counter() - t) * 1000)
        assert a.ok
    times.sort()
    print(f"directory: {c['functional_bodies']} bodies, {c['units']} units, {c['staff_accounts']} staff accounts, "
          f"{c['places']} places ({args.path.name}, {args.path.stat().st_size / 1024:.0f} KiB)")
    print(f"load: {plain_load_s * 1000:.0f} ms ({load_s * 1000:.0f} ms under tracemalloc); Python heap after load {current / 2**20:.1f} MiB (peak {peak / 2**20:.1f} MiB, tracemalloc)")
    print(f"route(): n={len(times)} p50 {statistics.median(times):.3f} ms, p95 {times[int(0.95 * (len(times) - 1))]:.3f} ms, "
          f"max {times[-1]:.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
