"""A gateway subprocess of its own for robustness tests (Rasa deliberately unreachable)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

import pytest

from common.settings import ROOT
from tests.conftest import free_port


@dataclass
class Gateway:
    proc: subprocess.Popen
    http: str
    audiosocket_port: int
    token: str = ""            # VOICE_TOKEN (clients)
    channel_token: str = ""    # VOICE_CHANNEL_TOKEN (dialplan, connectors)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.http}/health", timeout=3) as resp:
                return resp.status == 200
        except Exception:  # noqa: BLE001
            return False


def start_gateway(tmp_path, extra_env: dict) -> Gateway:
    import secrets

    vp, ap = free_port(), free_port()
    env = dict(os.environ, VOICE_PORT=str(vp), AUDIOSOCKET_PORT=str(ap), PYTHONPATH=str(ROOT),
               GOVDESK_DATA_DIR=str(tmp_path), VOICE_REPROMPT_S="4",
               VOICE_TOKEN=f"client-{secrets.token_hex(16)}", VOICE_CHANNEL_TOKEN=f"channel-{secrets.token_hex(16)}")
    env.pop("REDIS_URL", None)
    env.update(extra_env)
    log = open(tmp_path / "gateway.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "voice.gateway"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    gw = Gateway(proc, f"http://127.0.0.1:{vp}", ap, env["VOICE_TOKEN"], env["VOICE_CHANNEL_TOKEN"])
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gateway exited: {(tmp_path / 'gateway.log').read_text()[-2000:]}")
        if gw.healthy():
            return gw
        time.sleep(0.3)
    proc.kill()
    raise TimeoutError("gateway not healthy")


@pytest.fixture(scope="session")
def rasa_down_gateway(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("voice-rasa-down")
    gw = start_gateway(tmp, {"RASA_URL": f"http://127.0.0.1:{free_port()}"})  # nothing listens there
    yield gw
    gw.proc.terminate()
    try:
        gw.proc.wait(10)
    except subprocess.TimeoutExpired:
        gw.proc.kill()
    assert gw.proc.returncode in (0, -15), "gateway did not stop cleanly"


if os.environ.get("GOVDESK_TEST_MODEL"):
    @pytest.fixture(scope="session")
    def trained_model():
        """Developer shortcut: GOVDESK_TEST_MODEL=models/govdesk-xxxx.tar.gz skips retraining."""
        from pathlib import Path

        return Path(os.environ["GOVDESK_TEST_MODEL"]).resolve()


@pytest.fixture(autouse=True)
def no_blocking_calls_in_the_loop():
    """A blocking call (file, socket, sleep) inside the event loop of an in-process gateway test fails it."""
    from blockbuster import blockbuster_ctx

    from common.privacy import load_secret

    load_secret()  # as the gateway does at startup (make_app)
    with blockbuster_ctx(scanned_modules=["voice", "common", "textnorm"]) as bb:
        for function in bb.functions.values():
            function.can_block_in("voice/gateway.py", "make_app")  # building the app, once, before serving
        yield bb
