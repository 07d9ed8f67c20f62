import pytest

from common.settings import parse_redis_url


def test_parse_redis_url():
    t = parse_redis_url("redis://:secret@redis.example:6380/2")
    assert (t.host, t.port, t.db, t.password) == ("redis.example", 6380, 2, "secret")
    assert parse_redis_url("redis://localhost").port == 6379


def test_rejects_other_schemes():
    with pytest.raises(ValueError):
        parse_redis_url("http://localhost:6379")
