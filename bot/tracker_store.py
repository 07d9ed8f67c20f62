"""Rasa's Redis tracker and lock stores: encrypted at rest, and through Redis Sentinel.

Conversations hold what callers said: names, ID numbers, phone numbers. The
tracker is stored as one Fernet token per conversation (common.privacy), so a
copy of the Redis data (AOF, RDB, a replica) reveals nothing. Trackers written
before encryption was switched on are still read (plain JSON) and re-written
encrypted on the next save.

Keys (key_prefix "govdesk" in endpoints.yml): govdesk:tracker:<sender_id> (one Fernet
token, TTL record_exp), govdesk:lock:<sender_id> (Rasa's ticket lock JSON).

Connection: Rasa 3.6 builds a plain `redis.StrictRedis(host, port, ...)` in both stores.
When REDIS_SENTINELS is set (common.redis_conn), that client is replaced by the Sentinel
primary's client (`redis.sentinel.Sentinel.master_for`), with retries across a failover,
and a tracker is saved with SET + WAIT for every connected replica (durable_set_sync), so a
turn the caller was answered is on the replica Sentinel promotes; otherwise the
host/port/password of endpoints.yml are used exactly as Rasa does.
"""
from __future__ import annotations

from typing import Any, Optional, Text, Union

from rasa.core.lock_store import DEFAULT_SOCKET_TIMEOUT_IN_SECONDS, RedisLockStore
from rasa.core.tracker_store import RedisTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

from bot import rasa_fixes
from common.privacy import decrypt, encrypt


def _sentinel_client(db, password, **kwargs):
    """The Sentinel primary's blocking client, or None in plain mode."""
    import dataclasses

    from common.redis_conn import config, sync_client

    cfg = config()
    if not cfg.sentinel_mode:
        return None
    overrides = {}
    if db not in (None, ""):
        overrides["db"] = int(db)
    if password:
        overrides["password"] = password
    return sync_client(dataclasses.replace(cfg, **overrides), **kwargs)


class EncryptedRedisTrackerStore(RedisTrackerStore):
    # Rasa's merge on every save, in linear time (bot/rasa_fixes.py)
    _merge_trackers = staticmethod(rasa_fixes.merge_trackers)

    def __init__(self, domain, host: Text = "localhost", port: int = 6379, db: int = 0,
                 password: Optional[Text] = None, **kwargs: Any) -> None:
        super().__init__(domain, host=host, port=port, db=db, password=password, **kwargs)
        rasa_fixes.install()   # built at the server's startup: the one hook into Rasa's process we own
        red = _sentinel_client(db, password, decode_responses=True)
        self._durable = red is not None
        if red is not None:
            self.red = red

    async def save(self, tracker: DialogueStateTracker, timeout: Optional[float] = None) -> None:
        """Rasa 3.6's RedisTrackerStore.save, with the final SET made durable under Sentinel."""
        if not self._durable:
            return await super().save(tracker, timeout)
        from common.redis_conn import durable_set_sync

        await self.stream_events(tracker)
        if not timeout and self.record_exp:
            timeout = self.record_exp
        stored = self.red.get(self.key_prefix + tracker.sender_id)
        if stored is not None:
            prior_tracker = self.deserialise_tracker(tracker.sender_id, stored)
            tracker = self._merge_trackers(prior_tracker, tracker)
        durable_set_sync(self.red, self.key_prefix + tracker.sender_id, self.serialise_tracker(tracker), ex=timeout)

    def serialise_tracker(self, tracker: DialogueStateTracker) -> Text:  # type: ignore[override]
        return encrypt(super().serialise_tracker(tracker))

    def deserialise_tracker(
        self, sender_id: Text, serialised_tracker: Union[Text, bytes]
    ) -> Optional[DialogueStateTracker]:
        if isinstance(serialised_tracker, bytes):
            serialised_tracker = serialised_tracker.decode()
        if not serialised_tracker.lstrip().startswith("{"):
            serialised_tracker = decrypt(serialised_tracker)
        return super().deserialise_tracker(sender_id, serialised_tracker)


class SentinelRedisLockStore(RedisLockStore):
    """Rasa's RedisLockStore, loaded by module path from endpoints.yml (`endpoint_config`).

    One fix to Rasa 3.6's ticket lock: a turn that waits for a ticket left by a replica that died
    mid-turn gets its own ticket only a moment later, so both expire (TICKET_LOCK_LIFETIME) within
    Rasa's 1 s polling interval; Rasa then finds no ticket being served, never its own, and waits
    until the request is cancelled (HAProxy answered 504 after 60 s in bench/bench_cluster.py).
    Here a waiter whose ticket expired while every earlier ticket is gone goes ahead.
    """

    def __init__(self, endpoint_config=None, **kwargs: Any) -> None:
        if endpoint_config is not None:
            kwargs = {**endpoint_config.kwargs, **kwargs}
            kwargs.setdefault("host", endpoint_config.url)
        kwargs.pop("type", None)
        super().__init__(**kwargs)
        red = _sentinel_client(kwargs.get("db"), kwargs.get("password"),
                               socket_timeout=float(kwargs.get("socket_timeout") or DEFAULT_SOCKET_TIMEOUT_IN_SECONDS))
        if red is not None:
            self.red = red

    async def _acquire_lock(self, conversation_id: Text, ticket: int, wait_time_in_seconds: float):
        import asyncio

        from rasa.core.lock_store import LockError

        while True:
            lock = self.get_lock(conversation_id)
            if not lock:
                break
            lock.remove_expired_tickets()
            # Rasa's rule, plus: no live ticket is ahead of ours (ours may itself have expired).
            if not lock.is_locked(ticket) or not any(t.number < ticket for t in lock.tickets):
                return lock
            await asyncio.sleep(wait_time_in_seconds)
            self.update_lock(conversation_id)
        raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
