"""SIGKILL the real Redis (AOF everysec) and restart it on the same data dir: nothing is lost."""
from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from tests.workorders.conftest import CLERK, DISPATCHER, HANDLER
from workorders.service import WorkOrderService


async def test_orders_and_events_survive_sigkill(svc, redis_server, prefix, clock):
    ids = []
    for i in range(20):
        o = await svc.create(f"第{i}号诉求：村道坑洼需要修补", category="政务类", type="求助", urgency="一般",
                             caller_phone=f"138000{i:05d}", actor=CLERK, client_request_id=f"req-{i}")
        if i % 2:
            await svc.transition(o["id"], "dispatch", DISPATCHER, unit_id="U1")
            await svc.transition(o["id"], "sign", HANDLER)
        ids.append(o["id"])
    before = {i: (await svc.get(i), await svc.events(i)) for i in ids}
    await asyncio.sleep(1.5)  # appendfsync everysec: let the last second reach the disk
    redis_server.kill()
    redis_server.start()
    client = aioredis.from_url(redis_server.url)
    try:
        fresh = WorkOrderService(client, prefix=prefix, clock=clock, classifier=None, router=None)
        for oid, (order, events) in before.items():
            assert await fresh.get(oid) == order
            assert await fresh.events(oid) == events
            assert (await fresh.verify(oid)).ok
        assert (await fresh.list(limit=100))["total"] == 20
        assert (await fresh.list(state="signed"))["total"] == 10
        # the sequence and idempotency keys survived too: no reused reference numbers
        again = await fresh.create("第3号诉求：村道坑洼需要修补", actor=CLERK, client_request_id="req-3",
                                   category="政务类", type="求助", urgency="一般")
        assert again["id"] == ids[3] and not again["_created"]
        new = await fresh.create("新诉求", actor=CLERK, category="政务类", type="求助", urgency="一般")
        assert new["id"] not in ids and new["id"] > max(ids)
    finally:
        await client.close()
