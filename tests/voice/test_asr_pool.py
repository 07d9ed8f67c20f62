"""The shared ASR pool's scheduler: calls take turns, and the queue never grows past its bounds."""
from __future__ import annotations

import asyncio
import threading

import pytest

from voice.asr_pool import ASRPool, FairScheduler, Job, PoolFull


def _order(sched: FairScheduler) -> list[str]:
    out = []
    while (job := sched.pop()) is not None:
        out.append(job.fn)
    return out


def test_a_call_with_many_jobs_does_not_hold_up_another_call():
    sched = FairScheduler(max_pending=10, max_per_call=3)
    for name in ("a1", "a2", "a3"):
        sched.push(Job("a", name))
    sched.push(Job("b", "b1"))
    sched.push(Job("c", "c1"))
    # FIFO would serve a1 a2 a3 b1 c1; round-robin serves each caller once before a's second job.
    assert _order(sched) == ["a1", "b1", "c1", "a2", "a3"]


def test_a_call_over_its_share_loses_its_oldest_job_and_the_queue_stays_bounded():
    sched = FairScheduler(max_pending=4, max_per_call=2)
    sched.push(Job("a", "a1"))
    sched.push(Job("a", "a2"))
    dropped = sched.push(Job("a", "a3"))          # the caller kept talking: a1 is obsolete
    sched.push(Job("b", "b1"))
    sched.push(Job("c", "c1"))
    with pytest.raises(PoolFull):                  # 4 waiting: a fifth call is refused, not queued
        sched.push(Job("d", "d1"))
    assert (dropped.fn, len(sched), _order(sched)) == ("a1", 4, ["a2", "b1", "c1", "a3"])


def test_the_pool_serves_waiting_calls_in_turn_and_skips_cancelled_jobs():
    async def scenario():
        gate = threading.Event()
        done: list[str] = []
        pool = ASRPool(workers=1, max_pending=10, max_per_call=3)

        def job(name):
            if name == "busy":
                gate.wait(5)
            done.append(name)
            return name

        first = asyncio.ensure_future(pool.run(job, "busy", call="x"))
        await asyncio.sleep(0)                     # "busy" occupies the only worker
        a = [asyncio.ensure_future(pool.run(job, f"a{i}", call="a")) for i in range(3)]
        b = asyncio.ensure_future(pool.run(job, "b1", call="b"))
        await asyncio.sleep(0)
        a[1].cancel()                              # e.g. a speculative decode no longer needed
        await asyncio.sleep(0)
        gate.set()
        await asyncio.gather(first, a[0], a[2], b)
        pool.shutdown()
        return done

    assert asyncio.run(scenario()) == ["busy", "a0", "b1", "a2"]
