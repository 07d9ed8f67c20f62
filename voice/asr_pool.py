"""One shared ASR worker pool for every call: a bounded queue served round-robin per call.

No wire format of its own: jobs are blocking Python callables (``engine.transcribe`` /
``engine.score`` / the front end) on one utterance of 16 kHz signed 16-bit LE mono PCM
(wrapped as ``speech_recognition.AudioData``), run in ``workers`` threads.

Why not a plain executor: a ``ThreadPoolExecutor`` is FIFO across all calls, so one call
that queues a speculative decode, its final decode and a yes/no re-scoring delays every
other caller behind all three. Here each call has its own FIFO (at most ``max_per_call``
jobs: when full, that call's oldest job is dropped, it is obsolete - the caller kept
talking), and the calls take turns: after a call is served it goes to the back of the
line. The whole queue holds at most ``max_pending`` jobs; beyond that ``submit`` raises
``PoolFull`` at once instead of letting latency grow without bound.

``FairScheduler`` is the pure data structure (no threads, no clock) so its fairness and
bounds are tested alone; ``ASRPool`` runs it on the event loop and hands jobs to threads.
The call a job belongs to comes from the ``CALL_ID`` context variable (set by
``voice.pipeline.CallSession`` around its ASR tasks), so the services' API is unchanged.
"""
from __future__ import annotations

import asyncio
import contextvars
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

CALL_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("voice_call_id", default=None)


class PoolFull(RuntimeError):
    """The shared ASR queue is at its bound: the turn is refused, not queued."""


@dataclass
class Job:
    call: Hashable
    fn: Callable[..., Any]
    args: tuple = ()
    future: asyncio.Future | None = field(default=None, repr=False)

    def dead(self) -> bool:
        return self.future is not None and self.future.done()


class FairScheduler:
    """Per-call FIFOs; ``pop`` serves the calls in turn (round-robin), not jobs in arrival order."""

    def __init__(self, max_pending: int = 32, max_per_call: int = 3):
        self.max_pending = max(1, int(max_pending))
        self.max_per_call = max(1, int(max_per_call))
        self._calls: OrderedDict[Hashable, deque[Job]] = OrderedDict()
        self._size = 0
        self.dropped = 0
        self.refused = 0

    def __len__(self) -> int:
        return self._size

    def calls_waiting(self) -> int:
        return len(self._calls)

    def push(self, job: Job) -> Job | None:
        """Queue ``job``; returns the job it displaced (same call, oldest) or None.

        Raises PoolFull when the queue holds ``max_pending`` jobs and the job's call has none
        to give up."""
        q = self._calls.get(job.call)
        dropped = None
        if q is not None and len(q) >= self.max_per_call:
            dropped = q.popleft()
            self._size -= 1
            self.dropped += 1
        elif self._size >= self.max_pending:
            self.refused += 1
            raise PoolFull(f"ASR queue full ({self._size} jobs waiting)")
        if q is None:
            q = self._calls[job.call] = deque()
        q.append(job)
        self._size += 1
        return dropped

    def pop(self) -> Job | None:
        """The next job: the head of the call that has waited longest for its turn."""
        while self._calls:
            call, q = next(iter(self._calls.items()))
            job = q.popleft()
            self._size -= 1
            if q:
                self._calls.move_to_end(call)
            else:
                del self._calls[call]
            if not job.dead():           # cancelled while waiting: skip it
                return job
        return None

    def discard(self, job: Job) -> bool:
        q = self._calls.get(job.call)
        if q is None or job not in q:
            return False
        q.remove(job)
        self._size -= 1
        if not q:
            del self._calls[job.call]
        return True


class ASRPool:
    """``FairScheduler`` + ``workers`` threads; all bookkeeping on the event loop thread."""

    def __init__(self, workers: int = 1, max_pending: int = 32, max_per_call: int = 3,
                 executor: ThreadPoolExecutor | None = None):
        self.workers = max(1, int(workers))
        self.scheduler = FairScheduler(max_pending, max_per_call)
        self.executor = executor or ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="asr")
        self.running = 0
        self.served = 0

    def idle(self) -> bool:
        """No job waiting (the CPU has room for an optional second pass)."""
        return len(self.scheduler) == 0

    async def run(self, fn: Callable[..., Any], *args, call: Hashable | None = None) -> Any:
        loop = asyncio.get_running_loop()
        # A job of no known call is a call of its own (it takes its turn like any other).
        job = Job(call if call is not None else (CALL_ID.get() or object()), fn, args, loop.create_future())
        dropped = self.scheduler.push(job)
        if dropped is not None and dropped.future is not None and not dropped.future.done():
            dropped.future.cancel()
        self._dispatch(loop)
        try:
            return await job.future
        except asyncio.CancelledError:
            self.scheduler.discard(job)
            raise

    def _dispatch(self, loop: asyncio.AbstractEventLoop) -> None:
        while self.running < self.workers:
            job = self.scheduler.pop()
            if job is None:
                return
            self.running += 1
            cf = loop.run_in_executor(self.executor, job.fn, *job.args)
            cf.add_done_callback(lambda f, job=job: self._done(loop, job, f))

    def _done(self, loop, job: Job, f: asyncio.Future) -> None:
        self.running -= 1
        self.served += 1
        if not job.future.done():
            if f.cancelled():
                job.future.cancel()
            elif f.exception() is not None:
                job.future.set_exception(f.exception())
            else:
                job.future.set_result(f.result())
        elif not f.cancelled():
            f.exception()    # retrieved: no "never retrieved" warning for an abandoned job
        self._dispatch(loop)

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
