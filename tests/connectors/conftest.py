"""Fixtures for the WeChat channels: a fake WeChat server and the real stack wired to it.

The channels read their settings from the environment of the Rasa process.
`wechat_env` sets them (session scope) before `stack` starts when our tests start
it; when another test folder already started the stack without them, `wechat_stack`
restarts only the Rasa service so it picks them up (Stack.restart reads os.environ).
"""
from __future__ import annotations

import secrets
from pathlib import Path

import pytest
import redis

from tests.connectors.fake_wechat import FakeWeChat
from tests.connectors.wx_reference import new_encoding_aes_key

APPID = "wx" + secrets.token_hex(8)
SECRET = secrets.token_hex(16)
MINI_APPID = "wx" + secrets.token_hex(8)
MINI_SECRET = secrets.token_hex(16)
TOKEN = "tok" + secrets.token_hex(6)
AES_KEY = new_encoding_aes_key()
ACCOUNT = "gh_" + secrets.token_hex(6)


@pytest.fixture(scope="session")
def fake_wechat():
    fake = FakeWeChat(APPID, SECRET, MINI_APPID, MINI_SECRET).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def wechat_env(fake_wechat, monkeypatch_session) -> dict:
    env = {
        "WECHAT_TOKEN": TOKEN,
        "WECHAT_APPID": APPID,
        "WECHAT_APPSECRET": SECRET,
        "WECHAT_ENCODING_AES_KEY": AES_KEY,
        "WECHAT_ENCRYPT_MODE": "compatible",       # accept plain and AES so both are tested
        "WECHAT_API_BASE": fake_wechat.base_url,
        "WECHAT_VOICE_URL": fake_wechat.base_url,  # the fake answers /api/utterance
        "WECHAT_PASSIVE_BUDGET_S": "4.5",
        "WECHAT_MINI_APPID": MINI_APPID,
        "WECHAT_MINI_SECRET": MINI_SECRET,
    }
    for key, value in env.items():
        monkeypatch_session.setenv(key, value)
    return env


def _process_env(pid: int) -> dict:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


@pytest.fixture(scope="session")
def wechat_stack(wechat_env, stack):
    rasa = next(s for s in stack.services if s.name == "rasa")
    if _process_env(rasa.proc.pid).get("WECHAT_API_BASE") != wechat_env["WECHAT_API_BASE"]:
        stack.restart("rasa")
    return stack


@pytest.fixture(scope="session")
def rasa_base(wechat_stack, fake_wechat, monkeypatch_session) -> str:
    # Channels through the public edge; the HTTP API (trackers) on loopback with the token.
    monkeypatch_session.setenv("TEST_RASA_API", f"http://127.0.0.1:{wechat_stack.ports.rasa_internal}")
    fake_wechat.rasa_url = f"http://localhost:{wechat_stack.ports.rasa}"
    return fake_wechat.rasa_url


@pytest.fixture
def rdb(redis_server):
    cli = redis.Redis.from_url(redis_server.url, decode_responses=True)
    yield cli
    cli.close()


@pytest.fixture(scope="session")
def trained_model():
    """Like tests/conftest.py's, but WECHAT_TESTS_REUSE_MODEL=1 reuses the newest trained model.

    The channels don't depend on the domain, and while several people edit the
    domain the fingerprinted training runs again and again; this lets the channel
    tests run against whatever model exists. Without the variable nothing changes.
    """
    import os
    import time

    from common.settings import MODELS_DIR
    from bot.training import ensure_model

    if os.environ.get("WECHAT_TESTS_REUSE_MODEL") == "1":
        models = sorted((p for p in MODELS_DIR.glob("*.tar.gz") if time.time() - p.stat().st_mtime > 5),
                        key=lambda p: p.stat().st_mtime)
        if models:
            return models[-1]
    return ensure_model(quiet=True)
