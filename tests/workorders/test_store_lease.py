"""The Redis lease that makes background work run in one process among the staff API's workers and replicas,
and the scheduler loop that only works while it holds it."""
from __future__ import annotations

import asyncio

from workorders import scheduler


async def test_a_lease_is_held_by_one_holder_until_released_or_expired(svc):
    store = svc.store
    assert await store.lease("job", "a", 5)
    assert await store.lease("job", "a", 5)          # renewed by its holder
    assert not await store.lease("job", "b", 5)      # refused to another
    await store.release("job", "b")                  # only the holder gives it up
    assert not await store.lease("job", "b", 5)
    await store.release("job", "a")
    assert await store.lease("job", "b", 0.2)
    await asyncio.sleep(0.3)
    assert await store.lease("job", "a", 5)          # an expired lease is free


async def test_of_two_scheduler_loops_only_the_lease_holder_runs_passes(svc, monkeypatch):
    passes = []

    async def run_once(s, now=None):
        passes.append(asyncio.current_task().get_name())
        return {"checked": 0, "supervised": 0, "warned": 0}

    monkeypatch.setattr(scheduler, "run_once", run_once)
    first = asyncio.create_task(scheduler.run_forever(svc, 0.05), name="first")
    await asyncio.sleep(0.02)
    second = asyncio.create_task(scheduler.run_forever(svc, 0.05), name="second")
    await asyncio.sleep(0.3)
    assert set(passes) == {"first"} and len(passes) >= 3
    first.cancel()                                    # a clean stop hands the lease over at once
    await asyncio.gather(first, return_exceptions=True)
    await asyncio.sleep(0.2)
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
    assert passes[-1] == "second"
