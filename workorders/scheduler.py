"""Deadline watcher: raises 督办 (supervise) for overdue work and 预警 (warn) for nearly-due work.

Runs as a background task inside the staff API process (staffapi/scheduler_glue.py), or once from the command
line: `python -m workorders.scheduler --once [--prefix wo]`. Of the staff API's workers and replicas, the one
holding the Redis lease "scheduler" (store.lease) does the passes. Idempotent: each trigger
("overdue:<kind>:<deadline epoch>" / "due_soon:...") is recorded on the order itself and checked
under the order's optimistic lock, so several schedulers or repeated runs raise it once. A new
deadline (extension, reopen) is a new trigger.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
import uuid
from datetime import datetime

from common.settings import env_float
from workorders.model import NotFound, WorkOrderError

log = logging.getLogger(__name__)
SCHEDULER_ACTOR = {"username": "scheduler", "role": "system"}
KIND_LABELS = {"sign": "签收", "handle": "办理", "reopen": "重办", "rectification": "整改"}
INTERVAL = env_float("WORKORDER_SCHEDULER_INTERVAL", 60)


async def run_once(svc, now: datetime | None = None) -> dict:
    now = now or svc.now()
    rows = await svc.store.due_before((now + svc.policy.warning_window).timestamp())
    stats = {"checked": len(rows), "supervised": 0, "warned": 0}
    for oid, kind, ts in rows:
        overdue = ts < now.timestamp()
        action = "supervise" if overdue else "warn"
        trigger = f"{'overdue' if overdue else 'due_soon'}:{kind}:{int(ts)}"
        label = KIND_LABELS.get(kind, kind)
        note = f"{label}已超期，请立即督办。" if overdue else f"{label}期限将在24小时内到期。"
        try:
            _, event = await svc.transition_with_event(oid, action, SCHEDULER_ACTOR, trigger=trigger, note=note)
        except (NotFound, WorkOrderError) as exc:  # state moved on meanwhile: nothing to raise
            log.debug("skip %s %s: %s", oid, trigger, exc)
            continue
        if event is not None:
            stats["supervised" if overdue else "warned"] += 1
    return stats


async def run_forever(svc, interval: float = INTERVAL) -> None:
    """Every `interval`, one pass, by whichever process holds the Redis lease "scheduler" (every staff API
    worker and replica runs this loop; one of them works, the others take over within ~3 intervals of its
    death). The lease outlives two missed passes, so a slow pass does not hand it over."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    try:
        while True:
            try:
                if await svc.store.lease("scheduler", holder, 3 * interval + 5):
                    stats = await run_once(svc)
                    if stats["supervised"] or stats["warned"]:
                        log.info("scheduler: %s", stats)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep watching; Redis may be restarting
                log.exception("scheduler run failed")
            await asyncio.sleep(interval)
    finally:
        try:  # a clean stop hands the lease over at once
            await asyncio.shield(svc.store.release("scheduler", holder))
        except Exception:  # noqa: BLE001 - it expires anyway
            pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workorders.scheduler")
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.add_argument("--prefix", default="wo")
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--interval", type=float, default=INTERVAL)
    args = parser.parse_args(argv)

    async def _main():
        from workorders.service import WorkOrderService

        svc = WorkOrderService.from_url(args.redis_url, prefix=args.prefix, classifier=None, router=None)
        try:
            if args.once:
                print(await run_once(svc))
            else:
                await run_forever(svc, args.interval)
        finally:
            await svc.redis.close()

    asyncio.run(_main())
    return 0


if __name__ == "__main__":
    sys.exit(main())
