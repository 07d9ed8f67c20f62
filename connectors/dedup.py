"""Redis helpers shared by the WeChat channels: one async client per event loop,
message de-duplication (WeChat retries a message up to three times), buffers.
"""
from __future__ import annotations

import asyncio
import json
import time

from common.redis_conn import async_client

PREFIX = "govdesk:wx"
_clients: dict = {}  # id(event loop) -> redis.asyncio client


def client():
    """The Redis client bound to the running event loop (created lazily)."""
    loop = asyncio.get_running_loop()
    key = id(loop)
    cli = _clients.get(key)
    if cli is None:
        cli = async_client(decode_responses=True)
        _clients[key] = cli
    return cli


class Deduplicator:
    """First delivery claims the key; retries see its state and, once done, its reply.

    States: {"state": "processing"} -> {"state": "done", "reply": <str|None>}.
    """

    def __init__(self, namespace: str, ttl_s: int):
        self.namespace = namespace
        self.ttl_s = ttl_s

    def _key(self, ident: str) -> str:
        return f"{PREFIX}:dedup:{self.namespace}:{ident}"

    async def claim(self, ident: str) -> bool:
        value = json.dumps({"state": "processing", "at": time.time()})
        return bool(await client().set(self._key(ident), value, nx=True, ex=self.ttl_s))

    async def finish(self, ident: str, reply: str | None) -> None:
        value = json.dumps({"state": "done", "reply": reply}, ensure_ascii=False)
        await client().set(self._key(ident), value, ex=self.ttl_s)

    async def state(self, ident: str) -> dict | None:
        raw = await client().get(self._key(ident))
        return json.loads(raw) if raw else None

    async def wait_done(self, ident: str, timeout_s: float) -> dict | None:
        """Wait for the first delivery to finish (used by retries); None on timeout."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        while True:
            st = await self.state(ident)
            if st is None or st.get("state") == "done":
                return st
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.05)
