"""`make run`'s launcher: starts everything, and SIGTERM stops everything it started."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from common.settings import ROOT
from tests.conftest import free_port

pytestmark = pytest.mark.integration


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_run_starts_the_product_and_sigterm_stops_it(trained_model, tmp_path):
    ports = {name: free_port() for name in
             ("RASA_PORT", "ACTION_PORT", "STAFF_API_PORT", "VOICE_PORT", "AUDIOSOCKET_PORT", "REDIS_PORT")}
    env = dict(os.environ, GOVDESK_DATA_DIR=str(tmp_path), PYTHONPATH=str(ROOT),
               **{k: str(v) for k, v in ports.items()})
    env.pop("REDIS_URL", None)  # embedded Redis
    proc = subprocess.Popen([sys.executable, "-m", "common.launcher"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Ctrl-C" in line:
                break
        assert any("webhooks/rest/webhook" in line for line in output), "".join(output)[-3000:]
        req = urllib.request.Request(
            f"http://localhost:{ports['RASA_PORT']}/webhooks/rest/webhook",
            data=json.dumps({"sender": "launcher-test", "message": "我家着火了"}).encode(),
            headers={"Content-Type": "application/json"})
        reply = json.loads(urllib.request.urlopen(req, timeout=60).read())
        assert "119" in reply[0]["text"]
        assert (tmp_path / "redis" / "appendonlydir").exists() or (tmp_path / "redis" / "appendonly.aof").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    time.sleep(0.5)
    still_open = [name for name, port in ports.items() if port_open(port)]
    assert still_open == [], f"still listening after SIGTERM: {still_open}"
    assert proc.returncode == 0
