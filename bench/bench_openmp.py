"""One e5 query (catalogue.semantic.embed_query) per message under each OpenMP setting, side by side.

    PYTHONPATH=. .venv/bin/python -m bench.bench_openmp [messages=30] [repeats=2]

Each setting runs in a fresh process (the OpenMP runtime reads its variables when it loads),
alternating `repeats` times, on the first `messages` utterances of
bench/data/understanding/matters.tsv outside split `heldout`; prints CPU and wall ms per query
(markdown table) and the load average. Settings: the runtime's default (OMP_WAIT_POLICY empty:
common/settings.py fills it only when unset), ACTIVE, PASSIVE (the product's, COMPUTE_ENV), and
PASSIVE with one OpenMP thread. The whole parse: bench/bench_parse_cost.py --env.
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

from common.settings import ROOT

CHILD = """
import json, sys, time
from catalogue.semantic import embed_query
embed_query("预热一下")
cpu, wall = [], []
for m in json.loads(sys.argv[1]):
    c, w = time.process_time(), time.perf_counter()
    embed_query(m)
    cpu.append((time.process_time() - c) * 1000); wall.append((time.perf_counter() - w) * 1000)
print(json.dumps({"cpu": cpu, "wall": wall}))
"""
SETTINGS = {"runtime default (unset)": {"OMP_WAIT_POLICY": ""}, "ACTIVE": {"OMP_WAIT_POLICY": "ACTIVE"},
            "PASSIVE (product)": {"OMP_WAIT_POLICY": "PASSIVE"},
            "PASSIVE + OMP_NUM_THREADS=1": {"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "1"}}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> int:
    n_msgs = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    with open(ROOT / "bench" / "data" / "understanding" / "matters.tsv", encoding="utf-8") as fh:
        msgs = [r["utterance"] for r in csv.DictReader(fh, delimiter="\t")
                if r.get("utterance") and r.get("split") != "heldout"][:n_msgs]
    out = {k: {"cpu": [], "wall": []} for k in SETTINGS}
    start = os.getloadavg()[0]
    for _ in range(repeats):
        for name, variables in SETTINGS.items():
            env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
            env.update(PYTHONPATH=str(ROOT), **variables)
            res = subprocess.run([sys.executable, "-c", CHILD, json.dumps(msgs, ensure_ascii=False)], env=env,
                                 cwd=ROOT, capture_output=True, text=True, check=True)
            got = json.loads(res.stdout.strip().splitlines()[-1])
            for k in ("cpu", "wall"):
                out[name][k] += got[k]
    print(f"load average {start:.1f} at start, {os.getloadavg()[0]:.1f} at end")
    print("| OpenMP setting | CPU ms per query | wall ms mean | wall p50 | wall p95 | queries |\n|---|---|---|---|---|---|")
    for name, d in out.items():
        n = len(d["cpu"])
        print(f"| {name} | {sum(d['cpu']) / n:.1f} | {sum(d['wall']) / n:.1f} | {pct(d['wall'], .5):.1f} "
              f"| {pct(d['wall'], .95):.1f} | {n} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
