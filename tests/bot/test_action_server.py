"""The action server of the running stack (bot/action_server.py): only Rasa, which holds the shared
secret, can run an action; a crafted tracker from anyone else gets 401."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from common.privacy import action_token

pytestmark = pytest.mark.integration

# A tracker asking for a caller's orders: what an attacker on the host would send.
CALL = {"next_action": "action_workorder_progress", "sender_id": "attacker", "version": "3.6.2",
        "tracker": {"sender_id": "attacker", "slots": {"phone": "13800001111"}, "latest_message": {},
                    "events": [], "paused": False, "followup_action": None, "active_loop": {},
                    "latest_action_name": None},
        "domain": {}}


def post(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_an_action_call_without_the_secret_is_refused(stack):
    base = f"http://127.0.0.1:{stack.ports.actions}"
    status, body = post(f"{base}/webhook", CALL)
    assert status == 401 and body["message"] == "未授权的请求。"
    status, _ = post(f"{base}/webhook?token=guess", CALL)
    assert status == 401
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{base}/actions", timeout=10)
    assert err.value.code == 401


def test_health_is_open_and_rasa_with_the_secret_is_served(stack):
    base = f"http://127.0.0.1:{stack.ports.actions}"
    with urllib.request.urlopen(f"{base}/health", timeout=10) as resp:
        assert resp.status == 200
    with urllib.request.urlopen(f"{base}/actions?token={action_token()}", timeout=10) as resp:
        names = {a["name"] for a in json.loads(resp.read())}
    assert "action_workorder_progress" in names


def test_the_server_is_warm_before_it_listens(monkeypatch):
    """The first 12345 caller after a start must not pay for training the intake model: main() trains
    it before the port opens (app.run)."""
    from bot import action_server
    from workorders import classify

    classify.set_model(None)
    seen = {}

    def fake_run(self, host, port, **kw):       # stands in for Sanic's blocking run
        seen["model_ready"] = classify._model is not None

    monkeypatch.setattr("sanic.Sanic.run", fake_run)
    assert action_server.main(["--port", "0"]) == 0
    assert seen == {"model_ready": True}
