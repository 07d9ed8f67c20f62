"""Work-order creation throughput and latency through the staff API.

    .venv/bin/python -m bench.bench_workorders --n 1000 --concurrency 16

Starts its own embedded Redis (AOF everysec, temp dir) and `python -m staffapi` as a child
process on free ports, logs in as the demo clerk, then POSTs /api/orders with N requests,
`concurrency` at a time (aiohttp client). Orders carry explicit category/type/urgency (the
classifier is measured separately) unless --classify is given. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common.redis_embedded import start_embedded_redis, wait_for_port  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, p):
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * len(values) + 0.5) - 1))
    return values[k]


async def drive(base: str, n: int, concurrency: int, classify: bool) -> dict:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/api/login", json={"username": "clerk", "password": "clerk123"}) as r:
            token = (await r.json())["token"]
        headers = {"Authorization": f"Bearer {token}"}
        latencies, errors = [], 0
        queue = asyncio.Queue()
        for i in range(n):
            queue.put_nowait(i)

        async def worker():
            nonlocal errors
            while True:
                try:
                    i = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                body = {"text": f"第{i}号：村道坑洼积水，希望尽快修补", "channel": "web",
                        "caller": {"name": "王五", "phone": f"139{i:08d}"},
                        "place": {"township": "城关镇", "village": f"村{i % 40}"}, "client_request_id": f"bench-{i}"}
                if not classify:
                    body.update(category="政务类", type="求助", urgency="一般")
                t0 = time.perf_counter()
                async with session.post(f"{base}/api/orders", json=body, headers=headers) as r:
                    await r.read()
                    if r.status != 201:
                        errors += 1
                latencies.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(concurrency)])
        wall = time.perf_counter() - t0
    ms = [x * 1000 for x in latencies]
    return {"n": n, "concurrency": concurrency, "classify": classify, "errors": errors,
            "wall_s": round(wall, 2), "throughput_per_s": round(n / wall, 1),
            "p50_ms": round(statistics.median(ms), 1), "p95_ms": round(percentile(ms, 95), 1),
            "p99_ms": round(percentile(ms, 99), 1), "max_ms": round(max(ms), 1)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--classify", action="store_true", help="omit category/type/urgency: use classify()")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-wo-"))
    redis_port, api_port = free_port(), free_port()
    redis_proc = start_embedded_redis(tmp / "redis", redis_port)
    from cryptography.fernet import Fernet

    env = dict(os.environ, PYTHONPATH=str(ROOT), GOVDESK_DEMO="1", REDIS_URL=f"redis://localhost:{redis_port}/0",
               STAFF_API_PORT=str(api_port), GOVDESK_SECRET_KEY=Fernet.generate_key().decode(),
               GOVDESK_TOKEN_SECRET="bench", LOG_LEVEL="WARNING")
    api = subprocess.Popen([sys.executable, "-m", "staffapi"], cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=open(tmp / "api.log", "wb"), start_new_session=True)
    try:
        wait_for_port(api_port, timeout=60)
        result = asyncio.run(drive(f"http://127.0.0.1:{api_port}", args.n, args.concurrency, args.classify))
        result["cpus"] = os.cpu_count()
        print(json.dumps(result, ensure_ascii=False))
    finally:
        api.terminate()
        api.wait(10)
        redis_proc.terminate()
        redis_proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
