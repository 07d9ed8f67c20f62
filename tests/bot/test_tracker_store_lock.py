"""bot.tracker_store.SentinelRedisLockStore: Rasa's Redis ticket lock, on a real Redis."""
from __future__ import annotations

import asyncio
import time

from rasa.utils.endpoints import EndpointConfig

from common.settings import parse_redis_url
from bot.tracker_store import SentinelRedisLockStore


def _store(redis_server) -> SentinelRedisLockStore:
    t = parse_redis_url(redis_server.url)
    return SentinelRedisLockStore(EndpointConfig(url=t.host, type="bot.tracker_store.SentinelRedisLockStore",
                                                 port=t.port, db=t.db, password=t.password,
                                                 key_prefix="locktest"))


async def test_a_turn_behind_a_dead_replicas_ticket_goes_ahead_when_both_expire(redis_server):
    """The dead replica's ticket and the waiter's expire 0.3 s apart, inside the 1 s polling
    interval: Rasa 3.6 then waits forever; the turn must go ahead once both are gone."""
    store = _store(redis_server)
    conv = f"conv-{time.time()}"
    store.issue_ticket(conv, lock_lifetime=1.0)          # held by a replica that was killed
    time.sleep(0.3)
    mine = store.issue_ticket(conv, lock_lifetime=1.0)
    t0 = time.monotonic()
    lock = await asyncio.wait_for(store._acquire_lock(conv, mine, 1.0), timeout=10)
    assert lock is not None and time.monotonic() - t0 < 5


async def test_the_lock_still_makes_a_second_turn_wait_for_the_first(redis_server):
    store = _store(redis_server)
    conv = f"conv-{time.time()}"
    first = store.issue_ticket(conv, lock_lifetime=30)
    second = store.issue_ticket(conv, lock_lifetime=30)
    await asyncio.wait_for(store._acquire_lock(conv, first, 0.1), timeout=5)
    waiting = asyncio.create_task(store._acquire_lock(conv, second, 0.1))
    await asyncio.sleep(0.5)
    assert not waiting.done()
    store.cleanup(conv, first)
    await asyncio.wait_for(waiting, timeout=5)
