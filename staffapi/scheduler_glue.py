"""Runs the deadline watcher (workorders.scheduler.run_forever) as a background task of the staff API app."""
from __future__ import annotations

import asyncio

from aiohttp import web

from workorders.scheduler import INTERVAL, run_forever

TASK = web.AppKey("scheduler_task", asyncio.Task)


def start(app: web.Application, svc_key, interval: float = INTERVAL) -> None:
    """Attach the background loop to an aiohttp app (on_startup / on_cleanup)."""

    async def _start(app):
        app[TASK] = asyncio.create_task(run_forever(app[svc_key], interval))

    async def _stop(app):
        task = app.get(TASK)
        if task:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    app.on_startup.append(_start)
    app.on_cleanup.append(_stop)
