"""`python -m staffapi` with STAFF_API_WORKERS=2: two event-loop processes on one port, one shared report process,
the scheduler in one of them, and SIGTERM stops them all."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from common.settings import ROOT
from tests.conftest import free_port

pytestmark = pytest.mark.integration
DB = 14  # its own Redis database


def listeners(port: int) -> int:
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            n += cols[1].endswith(f":{port:04X}") and cols[3] == "0A"
    return n


def children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def call(base: str, method: str, path: str, token: str | None = None, body: dict | None = None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(req, timeout=30) as resp:  # a new connection each time: both workers answer
        return resp.status, json.loads(resp.read())


def test_two_workers_share_the_port_the_report_process_and_one_scheduler(redis_server, tmp_path):
    import redis

    url = redis_server.url_for(DB)
    r = redis.Redis.from_url(url)
    r.flushdb()
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), REDIS_URL=url, STAFF_API_HOST="127.0.0.1", STAFF_API_PORT=str(port),
               STAFF_API_WORKERS="2", GOVDESK_DEMO="1", WORKORDER_SCHEDULER_INTERVAL="0.5", LOG_LEVEL="INFO")
    log = tmp_path / "staff-api.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "staffapi"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while listeners(port) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.3)
        kids = children(proc.pid)
        assert len(kids) == 3  # two workers and the report process
        _, login = call(base, "POST", "/api/login", body={"username": "clerk", "password": "clerk123"})
        status, order = call(base, "POST", "/api/orders", login["token"],
                             {"text": "村口路灯坏了", "category": "政务类", "type": "求助", "urgency": "一般"})
        assert status == 201
        _, login = call(base, "POST", "/api/login", body={"username": "dispatcher", "password": "dispatcher123"})
        for _ in range(6):  # the order list and KPIs of either worker come from the shared report process
            status, page = call(base, "GET", "/api/orders?limit=5", login["token"])
            assert status == 200 and [o["id"] for o in page["items"]] == [order["id"]]
            status, _ = call(base, "GET", "/api/kpi", login["token"])
            assert status == 200
        holder = r.get("wo:lease:scheduler")
        assert holder is not None and int(holder.decode().split(":")[1]) in kids
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert proc.returncode == 0
    time.sleep(0.5)
    assert listeners(port) == 0
    assert not [k for k in kids if Path(f"/proc/{k}").exists()]
