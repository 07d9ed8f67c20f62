"""What one NLU parse costs in CPU, per pipeline component, and proof that a change kept every result.

    PYTHONPATH=. .venv/bin/python bench/bench_parse_cost.py                      # this tree, CPU per component
    PYTHONPATH=. .venv/bin/python bench/bench_parse_cost.py --write var/parses.json   # snapshot 1,500 parses
    PYTHONPATH=. .venv/bin/python bench/bench_parse_cost.py --compare var/parses.json # diff against it
    PYTHONPATH=. .venv/bin/python bench/bench_parse_cost.py --against /tmp/base  # before/after, one run
    PYTHONPATH=. .venv/bin/python bench/bench_parse_cost.py --env 'one:OMP_NUM_THREADS=1' --env 'passive:'

Parses with the trained model in process (rasa.core.agent, as bench/bench_understanding.py), with
the product's learned reader (trained on every round but `heldout`). The box is shared, so the
figures are CPU time (time.process_time: every thread of the process) as well as wall time.

Utterances: every row of bench/data/understanding/*.tsv except split `heldout`, ordered by the
SHA-1 of the utterance (a fixed sample that does not favour one file); the first 1,500 are the
check set (intent, confidence, entities, matter ranking, intent ranking compared), every third of
them (500) the cost set, parsed `--rounds` times after one warm-up pass.

`--against DIR`: DIR holds another version of the code (e.g. `git archive <commit> | tar -x -C
DIR`); each version runs in its own process, alternating `--repeats` times, on the same model
and caches (this tree's models/ and var/), and the table shows both side by side.
`--env LABEL:VAR=VALUE,VAR=VALUE` (repeatable): instead, this tree once per label with those
variables added to the child's environment (`LABEL:` alone: unchanged), alternating `--repeats`
times: e.g. OMP_WAIT_POLICY (empty value: the OpenMP runtime's own default, since
common/settings.py only fills it in when unset), OMP_NUM_THREADS, TF_INTRA_OP_PARALLELISM_THREADS /
TF_INTER_OP_PARALLELISM_THREADS (applied as `rasa run` applies them). `--cost N`: the first N of
the cost set only (default all 500), for boxes so loaded that a parse takes a second.
`--write PATH` stores the check set's parses (JSON: a list of {text, parse}); nothing is written
without it. `--compare PATH` parses the stored texts again and prints every difference.
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
DATA = HERE / "bench" / "data" / "understanding"
FILES = ("matters", "emergencies", "near_misses", "dialogue_acts")
CHECK_N = 1500
DIGITS = 4   # floats are compared rounded (DIET's confidences are float32)


def utterances() -> list[str]:
    seen = set()
    for name in FILES:
        with open(DATA / f"{name}.tsv", encoding="utf-8") as fh:
            seen |= {r["utterance"] for r in csv.DictReader(fh, delimiter="\t")
                     if r.get("utterance") and r.get("split") != "heldout"}
    return sorted(seen, key=lambda u: hashlib.sha1(u.encode()).hexdigest())


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else 0.0


def rounded(x):
    if isinstance(x, float):
        return round(x, DIGITS)
    if isinstance(x, dict):
        return {k: rounded(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [rounded(v) for v in x]
    return x


def essential(parse: dict) -> dict:
    """What the bot acts on: text read, intent, ranking, entities, matter ranking."""
    keys = ("text", "intent", "intent_ranking", "entities", "matter_ranking")
    return rounded({k: parse.get(k) for k in keys})


class Parser:
    """The trained model in process; every graph node's run function timed (CPU and wall)."""

    def __init__(self):
        import logging

        logging.disable(logging.INFO)
        from rasa.core.agent import Agent
        from rasa.utils.log_utils import configure_structlog

        from bot.training import ensure_model

        configure_structlog(logging.WARNING)
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.agent = Agent.load(str(ensure_model(quiet=True)))
        self.cpu: dict[str, float] = defaultdict(float)
        runner = self.agent.processor.graph_runner
        for name, node in runner._instantiated_nodes.items():
            node._fn = self._timed(name, node._fn)

    def _timed(self, name, fn):
        def run(*args, **kwargs):
            c = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.cpu[name] += time.process_time() - c
        return run

    def parse(self, text: str) -> dict:
        return self.loop.run_until_complete(self.agent.parse_message(text))


def child(args) -> dict:
    """Runs in the process of one code version: cost figures (and parses when asked)."""
    import common.settings  # noqa: F401  first: its COMPUTE_ENV must be set before any OpenMP runtime loads
    from bot.nlu import learned

    learned.HOLD_OUT = frozenset({"heldout"})
    from rasa.utils.tensorflow.environment import setup_tf_environment

    setup_tf_environment()   # as `rasa run` does (rasa/__main__.py): TF_*_OP_PARALLELISM_THREADS
    p = Parser()
    texts = utterances()[:CHECK_N]
    if args.compare:
        texts = [r["text_in"] for r in json.loads(Path(args.compare).read_text(encoding="utf-8"))]
    parses = [essential(p.parse(t)) for t in texts] if (args.write or args.compare) else None
    cost_set = texts[::3][:args.cost]
    if parses is None:   # warm-up: caches built, every code path visited once
        # A shorter cost set fits the per-message caches (e5 query: 256): warm up on other texts.
        for t in (cost_set if len(cost_set) >= 500 else texts[1::3][:len(cost_set)]):
            p.parse(t)
    p.cpu.clear()
    cpu, wall = [], []
    for _ in range(args.rounds):
        for t in cost_set:
            c, w = time.process_time(), time.perf_counter()
            p.parse(t)
            cpu.append((time.process_time() - c) * 1000)
            wall.append((time.perf_counter() - w) * 1000)
    n = len(cpu)
    return {"n": n, "cpu": cpu, "wall": wall, "load": os.getloadavg()[0],
            "nodes": {k: v * 1000 / n for k, v in p.cpu.items()},
            "parses": [{"text_in": t, "parse": q} for t, q in zip(texts, parses)] if parses else None}


def short(node: str) -> str:
    # "run_bot.nlu.matter.CatalogueMatterClassifier7" -> "CatalogueMatterClassifier7"
    return node.replace("run_", "").split(".")[-1]


def run_version(root: Path, args, extra: list[str], variables: dict[str, str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root), "GOVDESK_MODELS_DIR": str(HERE / "models"),
           "GOVDESK_DATA_DIR": str(HERE / "var"), "TF_CPP_MIN_LOG_LEVEL": "3", **variables}
    out = HERE / "var" / f"parse-cost-{os.getpid()}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(out), "--rounds", str(args.rounds),
           "--cost", str(args.cost)] + extra
    subprocess.run(cmd, env=env, cwd=root, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return json.loads(out.read_text(encoding="utf-8"))
    finally:
        out.unlink()


def table(results: dict[str, list[dict]]) -> str:
    names = list(results)
    nodes = []
    for rs in results.values():
        for r in rs:
            nodes += [k for k in r["nodes"] if k not in nodes]
    head = "| CPU ms per parse | " + " | ".join(names) + " |"
    lines = [head, "|---" * (len(names) + 1) + "|"]

    def mean_node(rs, k):
        return sum(r["nodes"].get(k, 0.0) for r in rs) / len(rs)
    for k in sorted(nodes, key=lambda k: -mean_node(results[names[0]], k)):
        if max(mean_node(rs, k) for rs in results.values()) >= 0.05:
            lines.append(f"| {short(k)} | " + " | ".join(f"{mean_node(results[n], k):.2f}" for n in names) + " |")
    lines.append("| outside the nodes (Rasa's graph run, agent) | " + " | ".join(
        f"{sum(sum(r['cpu']) / r['n'] for r in results[n]) / len(results[n]) - sum(mean_node(results[n], k) for k in nodes):.2f}"
        for n in names) + " |")
    lines.append("| **all nodes** | " + " | ".join(
        f"**{sum(mean_node(results[n], k) for k in nodes):.2f}**" for n in names) + " |")
    for label, key in (("parse CPU", "cpu"), ("parse wall", "wall")):
        for q in (.5, .95):
            lines.append(f"| {label} p{int(q * 100)} | " + " | ".join(
                f"{pct([x for r in results[n] for x in r[key]], q):.1f}" for n in names) + " |")
    lines.append("| parses (load avg at start of each process) | " + " | ".join(
        f"{sum(r['n'] for r in results[n])} (" + ", ".join(f"{r['load']:.1f}" for r in results[n]) + ")" for n in names) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--rounds", type=int, default=2, help="passes over the 500-utterance cost set")
    ap.add_argument("--repeats", type=int, default=2, help="processes per version with --against (alternating)")
    ap.add_argument("--against", help="directory with the other version of the code (before)")
    ap.add_argument("--write", help="store the check set's parses here")
    ap.add_argument("--compare", help="diff the check set against parses stored by --write")
    ap.add_argument("--env", action="append", default=[], metavar="LABEL:VAR=VALUE,...",
                    help="this tree once per label with these variables (repeatable, alternating)")
    ap.add_argument("--cost", type=int, default=500, help="parse only the first N of the cost set (500)")
    args = ap.parse_args()
    if args.child:
        Path(args.child).write_text(json.dumps(child(args), ensure_ascii=False), encoding="utf-8")
        return 0
    extra = [f"--{k}={getattr(args, k)}" for k in ("write", "compare") if getattr(args, k)]
    results: dict[str, list[dict]] = {}
    versions = [("before", Path(args.against).resolve(), {})] if args.against else []
    versions.append(("after" if args.against else "this tree", HERE, {}))
    if args.env:
        versions = [(label, HERE, dict(kv.split("=", 1) for kv in assigns.split(",") if kv))
                    for label, _, assigns in (spec.partition(":") for spec in args.env)]
    for _ in range(args.repeats if (args.against or args.env) else 1):
        for name, root, variables in versions:
            results.setdefault(name, []).append(
                run_version(root, args, extra if (root == HERE and name == versions[-1][0]) else [], variables))
    print(table(results))
    mine = results[versions[-1][0]][0]["parses"]
    if args.write:
        Path(args.write).write_text(json.dumps(mine, ensure_ascii=False, indent=0), encoding="utf-8")
        print(f"wrote {len(mine)} parses to {args.write}")
    if args.compare:
        stored = json.loads(Path(args.compare).read_text(encoding="utf-8"))
        diffs = 0
        for old, new in zip(stored, mine):
            for k in old["parse"]:
                if old["parse"][k] != new["parse"][k]:
                    diffs += 1
                    print(f"DIFF {old['text_in']} [{k}]\n  before {old['parse'][k]}\n  after  {new['parse'][k]}")
        print(f"compared {len(stored)} parses: {diffs} differences")
        return 1 if diffs else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
