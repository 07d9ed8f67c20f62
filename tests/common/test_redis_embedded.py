"""The embedded server is a real Redis and keeps data across a hard kill (AOF)."""
import time

import redis


def test_embedded_redis_persists_across_kill(redis_server):
    client = redis.Redis.from_url(redis_server.url)
    client.set("persist-check", "甲")
    assert client.config_get("appendonly")["appendonly"] == "yes"
    time.sleep(1.5)  # appendfsync everysec
    redis_server.restart()
    client = redis.Redis.from_url(redis_server.url)
    assert client.get("persist-check").decode() == "甲"
