"""Fixtures for work-order tests: an async Redis client on the real server, a service with its own
key prefix (tests share one Redis) and a controllable clock."""
from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta

import pytest
from cryptography.fernet import Fernet

os.environ.setdefault("GOVDESK_SECRET_KEY", Fernet.generate_key().decode())
os.environ.setdefault("GOVDESK_TOKEN_SECRET", "test-token-secret")

from workorders.calendar import TZ  # noqa: E402


class Clock:
    def __init__(self, start: datetime):
        self.t = start

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **kw) -> datetime:
        self.t += timedelta(**kw)
        return self.t

    def set(self, t: datetime) -> None:
        self.t = t


@pytest.fixture
def clock():
    return Clock(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))  # Monday


@pytest.fixture
async def aredis(redis_server):
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_server.url)
    yield client
    await client.aclose() if hasattr(client, "aclose") else await client.close()


@pytest.fixture
def prefix():
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture
def svc(aredis, clock, prefix):
    from workorders.service import WorkOrderService

    # classify/route of the other engineer are exercised in their tests; here fields are explicit.
    return WorkOrderService(aredis, prefix=prefix, clock=clock, classifier=None, router=None)


DISPATCHER = {"username": "d1", "role": "dispatcher"}
HANDLER = {"username": "h1", "role": "unit_handler", "unit_id": "U1"}
OTHER_HANDLER = {"username": "h2", "role": "unit_handler", "unit_id": "U2"}
SUPERVISOR = {"username": "s1", "role": "supervisor"}
CLERK = {"username": "c1", "role": "clerk"}
