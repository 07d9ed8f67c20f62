"""`make run` keeps serving through crashes (issue 12): a killed child is restarted while the
others keep answering, and a killed launcher takes its children with it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from common.settings import ROOT
from tests.common.test_launcher import port_open
from tests.conftest import free_port

pytestmark = pytest.mark.integration


def child(launcher: psutil.Process, needle: str) -> psutil.Process:
    for proc in launcher.children(recursive=True):
        try:
            if needle in " ".join(proc.cmdline()):
                return proc
        except psutil.NoSuchProcess:
            continue
    raise LookupError(needle)


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except Exception:  # noqa: BLE001
        return False


def test_killed_child_is_restarted_and_killed_launcher_takes_children(trained_model, tmp_path):
    ports = {name: free_port() for name in
             ("RASA_PORT", "ACTION_PORT", "STAFF_API_PORT", "VOICE_PORT", "AUDIOSOCKET_PORT", "REDIS_PORT")}
    env = dict(os.environ, GOVDESK_DATA_DIR=str(tmp_path), PYTHONPATH=str(ROOT),
               **{k: str(v) for k, v in ports.items()})
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "common.launcher"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line or "Ctrl-C" in line:
                break
        launcher = psutil.Process(proc.pid)
        actions = child(launcher, "bot.action_server")
        actions.kill()
        started = time.monotonic()
        # The others keep answering meanwhile (the edge and Rasa: an emergency needs no action).
        req = urllib.request.Request(
            f"http://localhost:{ports['RASA_PORT']}/webhooks/rest/webhook",
            data=json.dumps({"sender": "supervisor-test", "message": "我家着火了"}).encode(),
            headers={"Content-Type": "application/json"})
        assert "119" in json.loads(urllib.request.urlopen(req, timeout=30).read())[0]["text"]
        # a restarted action server trains the intake model before it listens (~10 s, more on a busy box)
        while time.monotonic() - started < 60 and not healthy(f"http://127.0.0.1:{ports['ACTION_PORT']}/health"):
            time.sleep(0.2)
        assert healthy(f"http://127.0.0.1:{ports['ACTION_PORT']}/health")
        assert child(launcher, "bot.action_server").pid != actions.pid
        # kill -9 of the launcher: its children go too.
        children = launcher.children(recursive=True)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        gone, alive = psutil.wait_procs(children, timeout=20)
        assert not alive, [p.cmdline()[:3] for p in alive]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
    time.sleep(0.5)
    assert [n for n, p in ports.items() if port_open(p)] == []
