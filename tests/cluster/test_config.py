"""The cluster's HAProxy configs keep the edge's limits and are valid for the real HAProxy."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from cluster.topology import COMPOSE_CFG, Endpoints, _servers, compose_haproxy_config, haproxy_config
from common.settings import ROOT

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
EDGE_ENV = {"EDGE_DIR": str(ROOT / "edge"), "EDGE_BIND": "127.0.0.1", "RASA_PORT": "5005",
            "EDGE_MAX_BODY": "8192", "EDGE_MAX_VOICE_BODY": "2097152", "EDGE_RATE_10S": "200",
            "AUDIOSOCKET_ALLOW": "127.0.0.1", "CLUSTER_DIR": "/tmp"}


def _check(text: str, tmp_path) -> None:
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(text)
    run = subprocess.run([HAPROXY, "-c", "-f", str(cfg)], env={**os.environ, **EDGE_ENV},
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr + run.stdout


@pytest.mark.skipif(not os.path.exists(HAPROXY), reason="HAProxy is installed by scripts/setup.sh")
def test_local_and_compose_configs_are_valid_and_keep_the_edge_limits(tmp_path):
    local = haproxy_config(Endpoints(), _servers([("rasa1", 1), ("rasa2", 2)]), _servers([("actions1", 3)]),
                           _servers([("staff-api1", 4)]), _servers([("voice1", 5)]), _servers([("voice1", 6)]))
    compose = compose_haproxy_config()
    edge = (ROOT / "edge" / "haproxy.cfg").read_text()
    limits = [line for line in edge.splitlines() if line.strip().startswith(("http-request", "stick-table", "acl"))]
    assert len(limits) > 10
    for text in (local, compose):
        _check(text, tmp_path)
        assert all(line in text for line in limits)
        assert text.count("\nbackend rasa\n") == 1
    assert COMPOSE_CFG.read_text() == compose, "run `python -m cluster.topology --compose`"
