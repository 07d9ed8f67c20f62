"""Run every benchmark, then rebuild docs/BENCHMARKS.md from the section files.

    make bench        # or: .venv/bin/python -m bench.run_all [--only foundation,catalogue]

Each bench writes its own section in docs/benchmarks/<area>.md (numbers + the command
that reproduces them); docs/BENCHMARKS.md is assembled from those sections.
"""
from __future__ import annotations

import argparse
import subprocess
import sys

from common.settings import ROOT

BENCHES = {
    "foundation": ["bench.bench_foundation"],
    "first_run": ["bench.bench_first_run"],
    "understanding": ["bench.bench_understanding"],
    "catalogue": ["bench.bench_catalogue"],
    "workorders": ["bench.bench_workorders"],
    "classify_dispatch": ["bench.bench_classify", "bench.bench_dispatch"],
    "flows": ["bench.bench_flows"],
    "conversations": ["bench.bench_conversations"],
    "voice": ["bench.bench_voice"],
    "tts": ["bench.bench_tts"],
    "turn_cost": ["bench.bench_turn_cost"],
    "wechat": ["bench.bench_wechat"],
}

HEADER = """# Benchmarks

Measured on the development machine (2 cores, 24 GB, Python 3.11). Each section below is
`docs/benchmarks/<area>.md`, written by its benchmark; reproduce everything with `make bench`
or one area with the command given in its section. This file is assembled by `bench/run_all.py`.

"""


def assemble() -> None:
    sections = sorted((ROOT / "docs" / "benchmarks").glob("*.md"))
    order = {name: i for i, name in enumerate(BENCHES)}
    sections.sort(key=lambda p: (order.get(p.stem, 99), p.stem))
    body = "\n\n".join(p.read_text(encoding="utf-8").strip() for p in sections)
    (ROOT / "docs" / "BENCHMARKS.md").write_text(HEADER + body + "\n", encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    ap.add_argument("--assemble-only", action="store_true")
    args = ap.parse_args()
    failed = []
    if not args.assemble_only:
        wanted = [a for a in args.only.split(",") if a] or list(BENCHES)
        for area in wanted:
            for module in BENCHES[area]:
                print(f"[bench] {module}", flush=True)
                if subprocess.run([sys.executable, "-m", module], cwd=ROOT).returncode != 0:
                    failed.append(module)
    assemble()
    if failed:
        print("[bench] failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
