"""One-time codes against a real Redis: used once, a few wrong tries, one SMS a minute, no phone in keys."""
from __future__ import annotations

import asyncio
import pytest

from workorders.model import WorkOrderError
from workorders.otp import MAX_TRIES, OneTimeCodes

PHONE = "13812345678"


@pytest.fixture
def codes(aredis, prefix):
    return OneTimeCodes(aredis, prefix=prefix)


async def test_a_code_is_good_once_and_only_for_its_phone(codes):
    code = await codes.issue(PHONE)
    assert len(code) == 6 and code.isdigit()
    assert not await codes.check("13900001111", code)
    assert await codes.check(PHONE, code)
    assert not await codes.check(PHONE, code)


async def test_parallel_guesses_get_no_more_than_the_tries(codes):
    code = await codes.issue(PHONE)
    wrong = [f"{(int(code) + i) % 10 ** 6:06d}" for i in range(1, 30)]
    results = await asyncio.gather(*(codes.check(PHONE, w) for w in wrong))
    assert not any(results)
    assert not await codes.check(PHONE, code)   # used up after MAX_TRIES wrong guesses
    assert MAX_TRIES <= 3


async def test_one_sms_a_minute(codes):
    await codes.issue(PHONE)
    with pytest.raises(WorkOrderError) as err:
        await codes.issue(PHONE)
    assert err.value.status == 429 and "一分钟" in err.value.message


async def test_no_phone_number_or_code_in_redis(codes):
    code = await codes.issue(PHONE)
    keys = [k.decode() for k in await codes.redis.keys(f"{codes.p}:*")]
    values = [str(await codes.redis.hgetall(k)) for k in keys if ":code:" in k]
    dump = " ".join(keys + values)
    assert PHONE not in dump and code not in dump
