"""The embedded server is a real Redis, keeps data across a hard kill (AOF) and asks for a password."""
import time

import pytest
import redis


def test_embedded_redis_persists_across_kill(redis_server):
    client = redis.Redis.from_url(redis_server.url)
    client.set("persist-check", "甲")
    assert client.config_get("appendonly")["appendonly"] == "yes"
    time.sleep(1.5)  # appendfsync everysec
    redis_server.restart()
    client = redis.Redis.from_url(redis_server.url)
    assert client.get("persist-check").decode() == "甲"


def test_embedded_redis_refuses_a_client_without_the_password(redis_server):
    anonymous = redis.Redis(host="127.0.0.1", port=redis_server.port)
    with pytest.raises(redis.AuthenticationError):
        anonymous.get("persist-check")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=redis_server.port, password="guess").ping()


def test_make_run_starts_redis_with_the_password_in_every_childs_url(tmp_path, monkeypatch):
    from common.launcher import Stack
    from common.settings import Ports, parse_redis_url
    from tests.conftest import free_port

    monkeypatch.delenv("REDIS_URL", raising=False)
    stack = Stack(ports=Ports(redis=free_port()), data_dir=tmp_path)
    stack.start_redis()
    try:
        env = stack.env()
        assert parse_redis_url(env["REDIS_URL"]).password == env["REDIS_PASSWORD"] != ""
        assert redis.Redis.from_url(env["REDIS_URL"]).ping()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(host="127.0.0.1", port=stack.ports.redis).ping()
    finally:
        stack.stop()
