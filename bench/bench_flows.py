"""Guided-flow benchmark: scripted conversations through the REST channel.

    PYTHONPATH=. .venv/bin/python -m bench.bench_flows            # starts its own stack
    PYTHONPATH=. .venv/bin/python -m bench.bench_flows --url http://localhost:5005

Reports task completion (the outcome each script expects: registered, stopped,
declined, handoff, police, ineligible) and the average number of caller turns.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import yaml

DATA = Path(__file__).parent / "data" / "flow_conversations.yml"


def post(url: str, payload: dict) -> list[dict]:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as resp:
        return json.loads(resp.read())


def outcome(messages: list[dict]) -> str | None:
    text = "".join(m.get("text") or "" for m in messages)
    if any((m.get("custom") or {}).get("event") == "handoff" for m in messages):
        return "handoff"
    if "编号是" in text:
        return "registered"
    if "不登记" in text and "不办了" in text:
        return "stopped"
    if "先不登记" in text:
        return "declined"
    if "110" in text:
        return "police"
    if "才能办" in text:
        return "ineligible"
    return None


def run_one(base: str, conv: dict) -> dict:
    sender = f"bench-{uuid.uuid4().hex[:10]}"
    got, latencies, turns = None, [], 0
    for said in conv["turns"]:
        t0 = time.perf_counter()
        reply = post(f"{base}/webhooks/rest/webhook",
                     {"sender": sender, "message": said, "metadata": {"channel": "web"}})
        latencies.append(time.perf_counter() - t0)
        turns += 1
        got = outcome(reply) or got
        if got is not None:
            break
    return {"name": conv["name"], "expect": conv["expect"], "got": got, "turns": turns,
            "ok": got == conv["expect"], "latencies": latencies}


def run_all(base: str, convs: list[dict]) -> dict:
    results = [run_one(base, c) for c in convs]
    ok = [r for r in results if r["ok"]]
    lat = sorted(x for r in results for x in r["latencies"])
    return {
        "conversations": len(results),
        "completed": len(ok),
        "completion_rate": round(len(ok) / len(results), 3),
        "avg_turns_completed": round(statistics.mean(r["turns"] for r in ok), 2) if ok else None,
        "avg_turns_registered": round(statistics.mean(r["turns"] for r in ok if r["expect"] == "registered"), 2)
        if any(r["expect"] == "registered" for r in ok) else None,
        "turn_latency_p50_s": round(lat[len(lat) // 2], 3) if lat else None,
        "turn_latency_p95_s": round(lat[int(len(lat) * 0.95)], 3) if lat else None,
        "failures": [{k: r[k] for k in ("name", "expect", "got", "turns")} for r in results if not r["ok"]],
    }


SECTION = Path(__file__).resolve().parent.parent / "docs" / "benchmarks" / "flows.md"
INTRO = """## Guided flows (ID-card loss and 13 other matters)

Scripted conversations through the REST channel (real Redis + action server + Rasa):
the scripts in `bench/data/flow_conversations.yml` — a happy path for each flow, spoken IDs/phones
with 幺/两/拐/洞/叉/爱克斯, Arabic and full-width digits with dashes, corrections ("不对，最后四位是……",
"名字是耳东陈"), mid-form questions (要带什么/要多少钱/要多久/在哪办/能代办吗), starting through the
catalogue ("我身份证丢了" then "帮我登记"), cancels, declining to register, hand-offs, stolen cards
(-> 110), too young for the pension, and 虚岁 ages (-> birth month asked). A conversation counts as
completed when it ends with the outcome its script expects (registered with a reference number,
stopped, declined, handed off, sent to 110, told not eligible).
"""
OUTRO = """
Reproduce (starts a private stack on free ports, trains the model if needed; rewrites this section):

    cd /work/main && PYTHONPATH=/work/main .venv/bin/python -m bench.bench_flows

Against a running stack (prints only): `PYTHONPATH=/work/main .venv/bin/python -m bench.bench_flows --url http://localhost:5005`.

Caveat: the scripts are ours and follow the flow specs, so this measures that flows, parsers and
corrections work end to end — not how real callers phrase things. Measured on the shared 2-core machine.
"""


def write_section(report: dict, model: str) -> None:
    rows = [("conversations", report["conversations"]),
            ("task completion", f"{report['completed']}/{report['conversations']} = {report['completion_rate']:.1%}"),
            ("average caller turns, all completed", report["avg_turns_completed"]),
            ("average caller turns, registered requests", report["avg_turns_registered"]),
            ("turn latency p50 / p95", f"{report['turn_latency_p50_s']} s / {report['turn_latency_p95_s']} s")]
    table = "| measure | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)
    fails = "".join(f"\n- {f['name']}: expected {f['expect']}, got {f['got']}" for f in report["failures"])
    SECTION.parent.mkdir(parents=True, exist_ok=True)
    SECTION.write_text(INTRO + "\n" + table + f"\n\nModel: `{model}`." + (("\nFailures:" + fails) if fails else "")
                       + "\n" + OUTRO, encoding="utf-8")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", help="a running Rasa server; default: start a private stack")
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args(argv)
    convs = yaml.safe_load(DATA.read_text(encoding="utf-8"))["conversations"]
    if args.limit:
        convs = convs[: args.limit]
    if args.url:
        report = run_all(args.url.rstrip("/"), convs)
    else:
        from common.launcher import Stack
        from bot.training import ensure_model
        from tests.conftest import free_port
        from common.settings import Ports

        ports = Ports(rasa=free_port(), actions=free_port(), staff_api=free_port(), voice=free_port(),
                      audiosocket=free_port(), redis=free_port())
        stack = Stack(ports=ports, data_dir=Path(tempfile.mkdtemp(prefix="bench-flows-")),
                      model=ensure_model(quiet=True))
        stack.start()
        try:
            report = run_all(f"http://localhost:{ports.rasa}", convs)
        finally:
            stack.stop()
        if not args.limit:
            write_section(report, Path(stack.model).name)
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
