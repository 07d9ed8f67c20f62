"""The ONE way the product connects to Redis: plain URL or through Redis Sentinel.

Every Redis client of the product comes from here: the work-order service (staff API,
bot actions, scheduler, CLI), the WeChat connectors' de-duplication, the voice gateway's
call records, and Rasa's tracker and lock stores (bot/tracker_store.py).

Environment
  REDIS_URL               redis://[:password@]host:port/db  - plain mode (one server); also gives
                          the db number and password in Sentinel mode
  REDIS_SENTINELS         "host:port,host:port,..."  - when set, Sentinel mode: the primary is
                          asked of the sentinels on every (re)connect, so a failover is followed
  REDIS_SENTINEL_MASTER   name of the monitored primary (default "govdesk")
  REDIS_PASSWORD          password of the data nodes (overrides the one in REDIS_URL)
  REDIS_SENTINEL_PASSWORD password of the sentinels themselves (default: none)
  REDIS_DB                database number (overrides the one in REDIS_URL)
  REDIS_REPLICA_ACKS      durable writes wait for this many replicas (WAIT n), or "all" (every
                          replica connected to the primary at that moment, at least 1); default
                          "all" in Sentinel mode, 0 in plain mode
  REDIS_WAIT_MS           how long a durable write waits for those acks (default 1000 ms)
  REDIS_RETRY_S           how long a command keeps retrying a lost connection (default 15 s,
                          longer than a Sentinel failover: down-after 1 s + election)

Failover behaviour
  Commands that fail with ConnectionError/TimeoutError (the old primary died, or answered
  READONLY after it was demoted: redis-py turns that into ConnectionError) are retried with
  exponential backoff for up to REDIS_RETRY_S against the primary the sentinels name. A
  MULTI/EXEC begun under WATCH is not blindly re-sent: the lost connection surfaces as
  WatchError, and the caller re-reads and re-checks (workorders/store.py), which is what
  keeps a retried create from writing a work order twice.

Durable writes (work orders, Rasa trackers)
  `durable_pipeline(client)` is a transaction pipeline that, after EXEC, sends ROLE and
  `WAIT <replicas> <REDIS_WAIT_MS>` on the same connection; `durable_set_sync` does the same for
  one SET (Rasa's tracker store). With "all", the caller is acknowledged once EVERY connected
  replica holds the write, so whichever replica Sentinel promotes has it (waiting for just one
  is not enough: Sentinel may promote the other one - seen in bench/bench_cluster.py). If the
  replicas do not answer in time the write is acknowledged degraded, counted and logged: it is
  on the primary (AOF `appendfsync always`) but would be lost if the primary died before a
  replica caught up - see docs/ARCHITECTURE.md "Redis connections and durability".

Key layout is owned by each user of a client (documented in their modules):
  wo:*            work orders (workorders/store.py)
  govdesk:tracker:*  Rasa conversations (encrypted), govdesk:lock:* Rasa ticket locks
  govdesk:wx:*    WeChat de-duplication (connectors/dedup.py)
  voice:call:*    voice hand-off records (voice/services.py)
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from common.settings import environment, parse_redis_url, redis_url

log = logging.getLogger("common.redis_conn")
# What callers catch when Redis cannot be reached (a restart, a failover in progress): they import it from here,
# so only this module and workorders/store.py import redis (.importlinter).
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)

DEFAULT_MASTER = "govdesk"
ALL = -1  # replica_acks: every replica connected to the primary
# Counted for /health and the benches: writes acknowledged without a replica's ack.
STATS = {"durable_writes": 0, "degraded_writes": 0}


@dataclass(frozen=True)
class RedisConfig:
    url: str
    sentinels: tuple[tuple[str, int], ...]
    master: str
    password: str | None
    sentinel_password: str | None
    db: int
    replica_acks: int
    wait_ms: int
    retry_s: float

    @property
    def sentinel_mode(self) -> bool:
        return bool(self.sentinels)


def parse_sentinels(value: str) -> tuple[tuple[str, int], ...]:
    out = []
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        host, _, port = item.rpartition(":")
        out.append((host or "localhost", int(port or 26379)))
    return tuple(out)


def config(env: dict | None = None) -> RedisConfig:
    """Read the connection settings (from the environment unless `env` is given)."""
    env = environment() if env is None else env
    url = env.get("REDIS_URL") or redis_url()
    target = parse_redis_url(url)
    sentinels = parse_sentinels(env.get("REDIS_SENTINELS", ""))
    password = env.get("REDIS_PASSWORD") or target.password or None
    acks_default = "all" if sentinels else "0"
    acks = str(env.get("REDIS_REPLICA_ACKS") or acks_default).strip().lower()
    return RedisConfig(
        url=url,
        sentinels=sentinels,
        master=env.get("REDIS_SENTINEL_MASTER") or DEFAULT_MASTER,
        password=password,
        sentinel_password=env.get("REDIS_SENTINEL_PASSWORD") or None,
        db=int(env.get("REDIS_DB") or target.db),
        replica_acks=ALL if acks == "all" else int(acks),
        wait_ms=int(env.get("REDIS_WAIT_MS") or 1000),
        retry_s=float(env.get("REDIS_RETRY_S") or 15),
    )


def _retries(retry_s: float) -> int:
    """Attempts of ExponentialBackoff(cap=1 s, base=50 ms) that add up to about retry_s."""
    total, n, delay = 0.0, 0, 0.05
    while total < retry_s:
        total += min(1.0, delay)
        delay *= 2
        n += 1
    return max(1, n)


def _connection_kwargs(cfg: RedisConfig, asyncio_: bool, **extra) -> dict:
    if asyncio_:
        from redis.asyncio.retry import Retry
    else:
        from redis.retry import Retry
    kwargs = dict(
        db=cfg.db,
        password=cfg.password,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), _retries(cfg.retry_s)),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
        health_check_interval=30,
    )
    kwargs.update(extra)
    return kwargs


def _sentinel_kwargs(cfg: RedisConfig) -> dict:
    kw = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
    if cfg.sentinel_password:
        kw["password"] = cfg.sentinel_password
    return kw


def async_client(cfg: RedisConfig | None = None, **kwargs):
    """A redis.asyncio client to the primary (plain URL or via Sentinel). kwargs go to the
    connections (decode_responses, socket_timeout, ...). One client per event loop."""
    import redis.asyncio as aioredis

    cfg = cfg or config()
    if cfg.sentinel_mode:
        from redis.asyncio.sentinel import Sentinel

        sentinel = Sentinel(list(cfg.sentinels), sentinel_kwargs=_sentinel_kwargs(cfg))
        return sentinel.master_for(cfg.master, **_connection_kwargs(cfg, True, **kwargs))
    from redis.asyncio.connection import ConnectionPool

    pool = ConnectionPool.from_url(cfg.url, **_connection_kwargs(cfg, True, **kwargs))
    return aioredis.Redis(connection_pool=pool)


def sync_client(cfg: RedisConfig | None = None, **kwargs):
    """A blocking redis-py client to the primary (Rasa's tracker and lock stores use these)."""
    import redis

    cfg = cfg or config()
    if cfg.sentinel_mode:
        from redis.sentinel import Sentinel

        sentinel = Sentinel(list(cfg.sentinels), sentinel_kwargs=_sentinel_kwargs(cfg))
        return sentinel.master_for(cfg.master, **_connection_kwargs(cfg, False, **kwargs))
    pool = redis.ConnectionPool.from_url(cfg.url, **_connection_kwargs(cfg, False, **kwargs))
    return redis.Redis(connection_pool=pool)


def durable_pipeline(client, cfg: RedisConfig | None = None):
    """A MULTI/EXEC pipeline whose EXEC is followed by WAIT on the same connection."""
    cfg = cfg or config()
    pipe = _durable_class()(client.connection_pool, client.response_callbacks, True, None)
    pipe.acks, pipe.wait_ms = cfg.replica_acks, cfg.wait_ms
    return pipe


_DURABLE = None


def _durable_class():
    global _DURABLE
    if _DURABLE is None:
        from redis.asyncio.client import Pipeline

        class DurablePipeline(Pipeline):
            acks = 0
            wait_ms = 1000

            async def _execute_transaction(self, connection, commands, raise_on_error):
                result = await super()._execute_transaction(connection, commands, raise_on_error)
                want = self.acks
                if want == ALL:
                    await connection.send_command("ROLE")
                    want = _replicas_in_role(await connection.read_response())
                if want > 0:
                    await connection.send_command("WAIT", want, self.wait_ms)
                    _count_acks(int(await connection.read_response()), want, self.wait_ms)
                return result

        _DURABLE = DurablePipeline
    return _DURABLE


def _replicas_in_role(role) -> int:
    """ROLE on a primary: [b"master", offset, [[ip, port, offset], ...]] -> at least 1."""
    try:
        return max(1, len(role[2]))
    except (IndexError, TypeError):
        return 1


def _count_acks(got: int, want: int, wait_ms: int) -> None:
    if got < want:
        STATS["degraded_writes"] += 1
        log.warning("write acknowledged by %d of %d replicas within %d ms (primary AOF only)", got, want, wait_ms)
    else:
        STATS["durable_writes"] += 1


def durable_set_sync(client, key: str, value, ex: int | None = None, cfg: RedisConfig | None = None) -> None:
    """SET then ROLE and WAIT on the same connection of a blocking client (Rasa's tracker store).
    Retried across a failover: writing the whole value again is idempotent."""
    import time

    cfg = cfg or config()
    pool = client.connection_pool
    deadline, delay = time.monotonic() + cfg.retry_s, 0.05
    while True:
        conn = pool.get_connection("SET")
        try:
            args = ["SET", key, value] + (["EX", int(ex)] if ex else [])
            conn.send_command(*args)
            conn.read_response()
            want = cfg.replica_acks
            if want == ALL:
                conn.send_command("ROLE")
                want = _replicas_in_role(conn.read_response())
            if want > 0:
                conn.send_command("WAIT", want, cfg.wait_ms)
                _count_acks(int(conn.read_response()), want, cfg.wait_ms)
            return
        except (RedisConnectionError, RedisTimeoutError):
            conn.disconnect()
            if time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(1.0, delay * 2)
        finally:
            pool.release(conn)


def describe(cfg: RedisConfig | None = None) -> str:
    cfg = cfg or config()
    if cfg.sentinel_mode:
        nodes = ",".join(f"{h}:{p}" for h, p in cfg.sentinels)
        return f"sentinel://{nodes}/{cfg.master}/{cfg.db}"
    t = parse_redis_url(cfg.url)
    return f"redis://{t.host}:{t.port}/{cfg.db}"
