"""common.redis_conn: the one Redis connection module (plain URL or Sentinel)."""
from __future__ import annotations

import dataclasses

from common import redis_conn


def test_sentinel_settings_come_from_the_environment():
    cfg = redis_conn.config({"REDIS_URL": "redis://:pw@10.0.0.1:6379/2",
                             "REDIS_SENTINELS": "s1:26379, s2:26380,s3:26381",
                             "REDIS_SENTINEL_MASTER": "hotline"})
    assert cfg.sentinel_mode
    assert cfg.sentinels == (("s1", 26379), ("s2", 26380), ("s3", 26381))
    assert (cfg.master, cfg.password, cfg.db, cfg.replica_acks) == ("hotline", "pw", 2, redis_conn.ALL)
    plain = redis_conn.config({"REDIS_URL": "redis://localhost:6390/0"})
    assert not plain.sentinel_mode and plain.replica_acks == 0


async def test_durable_write_without_a_replica_is_acknowledged_and_counted(redis_server):
    """One server, one replica ack asked: WAIT answers 0 within the timeout; the write stands
    (primary AOF) and is counted as degraded rather than refused."""
    cfg = dataclasses.replace(redis_conn.config({"REDIS_URL": redis_server.url}), replica_acks=1, wait_ms=50)
    client = redis_conn.async_client(cfg)
    before = redis_conn.STATS["degraded_writes"]
    async with redis_conn.durable_pipeline(client, cfg) as pipe:
        pipe.set("conn-test:k", "v")
        assert await pipe.execute() == [True]
    assert await client.get("conn-test:k") == b"v"
    assert redis_conn.STATS["degraded_writes"] == before + 1
    await client.close()


def test_durable_set_waits_for_every_connected_replica_and_sets(redis_server):
    """Rasa's tracker save path: SET, ROLE and WAIT on one connection; no replica -> degraded, set."""
    cfg = dataclasses.replace(redis_conn.config({"REDIS_URL": redis_server.url}),
                              replica_acks=redis_conn.ALL, wait_ms=50)
    client = redis_conn.sync_client(cfg)
    before = redis_conn.STATS["degraded_writes"]
    redis_conn.durable_set_sync(client, "conn-test:tracker", "x" * 100, ex=60, cfg=cfg)
    assert client.get("conn-test:tracker") == b"x" * 100 and 0 < client.ttl("conn-test:tracker") <= 60
    assert redis_conn.STATS["degraded_writes"] == before + 1
