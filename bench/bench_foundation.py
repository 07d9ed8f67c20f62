"""Foundation numbers: training time, server start time, /model/parse and REST turn latency.

    .venv/bin/python -m bench.bench_foundation [--retrain]

Starts its own stack (embedded Redis, action server, Rasa) on free ports.
"""
from __future__ import annotations

import argparse
import asyncio
import socket
import tempfile
import time
from pathlib import Path

import aiohttp

from bench.stats import summary_ms
from common.launcher import Stack
from common.settings import Ports

PHRASES = ["你好", "你是机器人吗", "再说一遍", "谢谢", "我想补办身份证", "低保怎么申请", "转人工", "说慢一点"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def parse_latencies(base: str, n: int = 100) -> list[float]:
    out = []
    async with aiohttp.ClientSession() as session:
        for i in range(n):
            t = time.perf_counter()
            async with session.post(f"{base}/model/parse", json={"text": PHRASES[i % len(PHRASES)]}) as r:
                await r.read()
            out.append(time.perf_counter() - t)
    return out


async def rest_latencies(base: str, conversations: int, turns: int = 8) -> list[float]:
    out: list[float] = []

    async def one(idx: int, session: aiohttp.ClientSession):
        sender = f"bench-{idx}-{time.time_ns()}"
        for i in range(turns):
            t = time.perf_counter()
            async with session.post(f"{base}/webhooks/rest/webhook",
                                    json={"sender": sender, "message": PHRASES[i % len(PHRASES)]}) as r:
                await r.read()
            out.append(time.perf_counter() - t)

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(one(i, session) for i in range(conversations)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--retrain", action="store_true", help="measure training from scratch into a temp dir")
    args = ap.parse_args()
    from bot.training import ensure_model

    if args.retrain:
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            ensure_model(Path(tmp), quiet=True)
            trained = f"{time.perf_counter() - t:.1f} s"
            print("training:", trained)
    lines: list[str] = []

    def record(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    if args.retrain:
        lines.insert(0, "")
    model = ensure_model(quiet=True)
    ports = Ports(rasa=free_port(), actions=free_port(), staff_api=free_port(), voice=free_port(),
                  audiosocket=free_port(), redis=free_port())
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(ports=ports, data_dir=Path(tmp), model=model, with_optional=False,
                      log_dir=Path(tmp) / "logs")
        t = time.perf_counter()
        stack.start()
        record(f"- Server start (embedded Redis + action server + Rasa with the model loaded, to healthy): "
               f"{time.perf_counter() - t:.1f} s")
        try:
            base = f"http://localhost:{ports.rasa}"
            asyncio.run(parse_latencies(base, 10))  # warm-up
            record("- `/model/parse`: " + summary_ms(asyncio.run(parse_latencies(base))))
            record("- Full REST turn (NLU + policies + action server + Redis), 1 conversation: "
                   + summary_ms(asyncio.run(rest_latencies(base, 1, 40))))
            record("- Full REST turn, 20 concurrent conversations: "
                   + summary_ms(asyncio.run(rest_latencies(base, 20, 8))))
        finally:
            stack.stop()
    if args.retrain:
        lines.insert(0, f"- Training from scratch (`rasa train`, full catalogue NLU): {trained}")
    write_section(lines)


def write_section(lines: list[str]) -> None:
    from common.settings import ROOT

    path = ROOT / "docs" / "benchmarks" / "foundation.md"
    previous = path.read_text(encoding="utf-8") if path.exists() else ""
    keep = [l for l in previous.splitlines() if l.startswith("- Fresh-machine setup") or
            (l.startswith("- Training") and not any(x.startswith("- Training") for x in lines))]
    text = ["## Foundation", "",
            "Reproduce: `.venv/bin/python -m bench.bench_foundation --retrain` (setup time: "
            "`d=$(mktemp -d) && git clone -q . $d && cd $d && time scripts/setup.sh`).", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(text + keep + [l for l in lines if l]) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
