"""The SMS client against the fake gateway (bench/fake_sms.py, the wire format of clients/sms.py)."""
from __future__ import annotations

import pytest

from bench.fake_sms import FakeSmsGateway
from clients.sms import SmsClient, SmsUnavailable


@pytest.fixture
def gateway():
    g = FakeSmsGateway().start()
    yield g
    g.stop()


async def test_send_is_accepted_and_reaches_the_phone(gateway):
    client = SmsClient(gateway.url, gateway.token)
    try:
        msg_id = await client.send("13812345678", "验证码123456", purpose="otp")
    finally:
        await client.close()
    assert msg_id and gateway.last_code("13812345678") == "123456"


async def test_a_refused_send_raises_and_logs_no_number(gateway, caplog):
    client = SmsClient(gateway.url, "wrong-token")
    try:
        with pytest.raises(SmsUnavailable):
            await client.send("13812345678", "验证码123456")
    finally:
        await client.close()
    assert gateway.messages("13812345678") == []
    assert "13812345678" not in caplog.text


def test_not_configured_means_no_client(monkeypatch):
    monkeypatch.delenv("SMS_GATEWAY_URL", raising=False)
    assert SmsClient.from_env() is None
