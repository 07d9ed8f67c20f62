"""Reports and the order list at scale, and creates while reports are read (issue 16's goals).

    .venv/bin/python -m bench.bench_reports --orders 100000 [--write]

Starts its own embedded Redis (AOF everysec, temp dir). Seeds N orders spread over 12 months: 300 real
orders made through WorkOrderService (classify + route + lifecycle: dispatch, sign, reply, complete,
callback, rating, merge) are cloned with new ids, creation times, villages and units, and written with
the store's own write operations (so every index and report counter is what the product keeps). Then
starts `python -m staffapi` and measures, side by side in one run:
  - GET /api/kpi (by unit, by department; whole range and one month), GET /api/hotspots, GET /api/orders
    (first page, a filtered page): p50/p95 over --reads requests each;
  - POST /api/orders at --concurrency clients alone, then again while 4 clients read /api/kpi and the
    order list in a loop: creates/s both ways.
Prints one JSON line; --write also updates docs/benchmarks/reports.md.
"""
from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_workorders import free_port, percentile  # noqa: E402
from common.redis_embedded import start_embedded_redis, wait_for_port  # noqa: E402

SEED_ORDERS = 300
ACTORS = {
    "clerk": {"username": "clerk", "role": "clerk"},
    "dispatcher": {"username": "dispatcher", "role": "dispatcher"},
}


async def seed(redis_url: str, n: int) -> dict:
    import redis.asyncio as aioredis

    from workorders.calendar import TZ
    from workorders.chain import make_event
    from workorders.service import WorkOrderService

    client = aioredis.from_url(redis_url)
    start = datetime(2026, 1, 1, 8, tzinfo=TZ)
    clock_t = [start]
    svc = WorkOrderService(client, clock=lambda: clock_t[0])
    directory = svc.directory
    units = [u.id for u in directory.units][:400] if directory else ["U1"]
    rng = random.Random(1)
    texts = ["村道坑洼积水，希望尽快修补", "路灯坏了一个星期，晚上走路危险", "自来水发黄不能喝", "邻居占了我家的宅基地",
             "养殖场往河里排粪水", "低保申请交了一个月没消息", "村口垃圾没人清运", "停电两天了"]
    templates = []
    for i in range(SEED_ORDERS):
        clock_t[0] = start + timedelta(minutes=i)
        o = await svc.create(f"{texts[i % len(texts)]}（{i}）", actor=ACTORS["clerk"], channel="web",
                             caller_name="王五", caller_phone=f"139{i:08d}",
                             place={"township": "城关镇", "village": f"村{i % 40}"})
        unit = units[i % len(units)]
        steps = [("dispatch", ACTORS["dispatcher"], {"unit_id": unit})]
        handler = {"username": "h", "role": "unit_handler", "unit_id": unit}
        depth = i % 6
        steps += [("sign", handler, {}), ("start", handler, {}), ("reply", handler, {"reply": "已处理"}),
                  ("complete", ACTORS["dispatcher"], {}),
                  ("callback", ACTORS["dispatcher"], {"satisfied": i % 7 != 0})][:depth]
        for action, actor, data in steps:
            o = await svc.transition(o["id"], action, actor, **data)
        if depth >= 5 and i % 3 == 0:
            o = await svc.transition(o["id"], "rate", ACTORS["clerk"], level=["满意", "不满意", "非常满意"][i % 3])
        templates.append(o)
    store = svc.store
    t0 = time.perf_counter()
    span = 365 * 86400
    batch = 1000
    written = 0
    while written < n:
        async with client.pipeline(transaction=False) as pipe:
            for j in range(written, min(n, written + batch)):
                o = copy.deepcopy(templates[j % SEED_ORDERS])
                created = start + timedelta(seconds=rng.randrange(span))
                o["id"] = f"B{j:09d}"
                o["created_at"] = created.isoformat(timespec="seconds")
                o["place"] = {**(o.get("place") or {}), "village": f"村{rng.randrange(400)}"}
                if o.get("lead_unit_id"):
                    o["lead_unit_id"] = rng.choice(units)
                o.pop("_created", None)
                event = make_event(None, at=o["created_at"], actor=ACTORS["clerk"], action="create", before={},
                                   after={"state": o["state"]})
                pipe.zadd(store.k("idx", "all"), {o["id"]: created.timestamp()})
                store._write_ops(pipe, None, o, event)  # the store's own writes: indexes and report counters
            await pipe.execute()
        written = min(n, written + batch)
    await client.set(store.k("rep", "version"), "1")
    seconds = time.perf_counter() - t0
    await client.close()
    return {"seeded": n + SEED_ORDERS, "seed_s": round(seconds, 1)}


async def timed_get(session, url, headers, n) -> dict:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        async with session.get(url, headers=headers) as r:
            await r.read()
            assert r.status == 200, (url, r.status)
        times.append((time.perf_counter() - t0) * 1000)
    return {"p50_ms": round(sorted(times)[len(times) // 2], 1), "p95_ms": round(percentile(times, 95), 1)}


async def creates(session, base, headers, n, concurrency, tag) -> float:
    queue = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker():
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            body = {"text": f"第{i}号：村道坑洼积水，希望尽快修补", "channel": "web", "category": "政务类", "type": "求助",
                    "urgency": "一般", "caller": {"name": "王五", "phone": f"138{i:08d}"},
                    "place": {"township": "城关镇", "village": f"村{i % 40}"}, "client_request_id": f"{tag}-{i}"}
            async with session.post(f"{base}/api/orders", json=body, headers=headers) as r:
                await r.read()
                assert r.status == 201, r.status

    t0 = time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(concurrency)])
    return round(n / (time.perf_counter() - t0), 1)


async def drive(base: str, reads: int, n_creates: int, concurrency: int, readers: int) -> dict:
    async with aiohttp.ClientSession() as session:
        tokens = {}
        for user in ("clerk", "dispatcher"):
            async with session.post(f"{base}/api/login", json={"username": user, "password": f"{user}123"}) as r:
                tokens[user] = {"Authorization": f"Bearer {(await r.json())['token']}"}
        d = tokens["dispatcher"]
        out = {
            "kpi_unit_all": await timed_get(session, f"{base}/api/kpi", d, reads),
            "kpi_department_all": await timed_get(session, f"{base}/api/kpi?group_by=department", d, reads),
            "kpi_unit_month": await timed_get(session, f"{base}/api/kpi?since=2026-05-01&until=2026-06-01", d, reads),
            "kpi_partial_days": await timed_get(session, f"{base}/api/kpi?since=2026-05-03T12:00:00%2B08:00"
                                                         f"&until=2026-06-10T08:00:00%2B08:00", d, reads),
            "hotspots": await timed_get(session, f"{base}/api/hotspots", d, reads),
            "orders_first_page": await timed_get(session, f"{base}/api/orders?limit=50", d, reads),
            "orders_filtered_page": await timed_get(session, f"{base}/api/orders?state=dispatched&limit=50&offset=100",
                                                    d, reads),
        }
        alone = await creates(session, base, tokens["clerk"], n_creates, concurrency, "alone")
        stop = asyncio.Event()

        async def reader():
            while not stop.is_set():
                for url in ("/api/kpi", "/api/orders?limit=50"):
                    async with session.get(base + url, headers=d) as r:
                        await r.read()

        tasks = [asyncio.create_task(reader()) for _ in range(readers)]
        with_reads = await creates(session, base, tokens["clerk"], n_creates, concurrency, "reads")
        stop.set()
        await asyncio.gather(*tasks)
        out["creates_per_s_alone"] = alone
        out["creates_per_s_with_report_readers"] = with_reads
        out["report_readers"] = readers
        return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=40)
    parser.add_argument("--creates", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--readers", type=int, default=1, help="console users reloading reports in a loop")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    redis_port, api_port = free_port(), free_port()
    redis_proc = start_embedded_redis(tmp / "redis", redis_port)
    from cryptography.fernet import Fernet

    env = dict(os.environ, PYTHONPATH=str(ROOT), GOVDESK_DEMO="1", REDIS_URL=f"redis://localhost:{redis_port}/0",
               STAFF_API_PORT=str(api_port), GOVDESK_SECRET_KEY=Fernet.generate_key().decode(),
               GOVDESK_TOKEN_SECRET="bench", LOG_LEVEL="WARNING", WORKORDER_SCHEDULER="0")
    os.environ.update({k: env[k] for k in ("GOVDESK_SECRET_KEY", "GOVDESK_TOKEN_SECRET")})
    api = None
    try:
        result = asyncio.run(seed(env["REDIS_URL"], args.orders))
        api = subprocess.Popen([sys.executable, "-m", "staffapi"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=open(tmp / "api.log", "wb"), start_new_session=True)
        wait_for_port(api_port, timeout=120)
        result.update(asyncio.run(drive(f"http://127.0.0.1:{api_port}", args.reads, args.creates, args.concurrency,
                                 args.readers)))
        result["cpus"] = os.cpu_count()
        result["load_avg_1m"] = round(os.getloadavg()[0], 2)
        print(json.dumps(result, ensure_ascii=False))
        if args.write:
            write_doc(result, args)
    finally:
        if api is not None:
            api.terminate()
            api.wait(10)
        redis_proc.terminate()
        redis_proc.wait(120)  # AOF of 100,000 orders flushes on shutdown
    return 0


def write_doc(r: dict, args) -> None:
    rows = "\n".join(f"| {k} | {v['p50_ms']} | {v['p95_ms']} |" for k, v in r.items() if isinstance(v, dict))
    text = f"""# Reports and the order list at {r['seeded']:,} orders

Command: `.venv/bin/python -m bench.bench_reports --orders {args.orders} --reads {args.reads} --creates {args.creates} --concurrency {args.concurrency} --readers {args.readers} --write`
(embedded Redis, `python -m staffapi`, demo accounts; {r['cpus']} CPUs, 1-minute load average at the end {r['load_avg_1m']}:
the box is shared with other work, so absolute numbers move; the comparisons are from one run).

Orders are spread over 12 months and ~400 units; seeding {r['seeded']:,} orders took {r['seed_s']} s.

| request (dispatcher) | p50 ms | p95 ms |
|---|---|---|
{rows}

Goal: p95 ≤ 200 ms at 100,000 orders.

Creates at {args.concurrency} clients (explicit category/type/urgency; one transaction per order):
{r['creates_per_s_alone']}/s alone, {r['creates_per_s_with_report_readers']}/s while {r['report_readers']} console user(s) reload `/api/kpi` and the
order list back to back, without pause
(goal: unaffected by report reads; ≥ 1,000/s).

How: KPI counters per hour, day, month, year and all time (by unit and by department) and hot-spot counters
per week are kept in Redis inside each order's MULTI/EXEC (workorders/store.py `report_deltas`, from the same
per-order functions the reports use on raw orders). A report reads the fewest hashes that cover its period
(most of a month = the month minus the other days) and loads only the orders of a partial first or last hour.
The order indexes are sorted sets by creation time: a page of the list is one range read of the filter's set
(several filters: a Redis-side intersection), then one MGET of the page; text search and the overdue filter
still scan the filtered orders. The staff API runs single-threaded: report reads and creates share one
event loop (more processes behind HAProxy: see docs/benchmarks/cluster.md).
"""
    (ROOT / "docs" / "benchmarks" / "reports.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
