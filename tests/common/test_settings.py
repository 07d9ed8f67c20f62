import pytest

from common.settings import parse_redis_url


def test_parse_redis_url():
    t = parse_redis_url("redis://:secret@redis.example:6380/2")
    assert (t.host, t.port, t.db, t.password) == ("redis.example", 6380, 2, "secret")
    assert parse_redis_url("redis://localhost").port == 6379


def test_rejects_other_schemes():
    with pytest.raises(ValueError):
        parse_redis_url("http://localhost:6379")


# --- the one parser of the environment -------------------------------------------------------------
def test_env_helpers_parse_and_name_the_variable_on_a_bad_value(monkeypatch):
    from common.settings import env_flag, env_float, env_int, env_list, env_str

    monkeypatch.setenv("GOVDESK_T_INT", " 42 ")
    monkeypatch.setenv("GOVDESK_T_FLAG", "Yes")
    monkeypatch.setenv("GOVDESK_T_LIST", "10.0.0.1, ,127.0.0.1")
    monkeypatch.setenv("GOVDESK_T_BLANK", "  ")
    assert env_int("GOVDESK_T_INT", 1) == 42 and env_float("GOVDESK_T_INT", 1.0) == 42.0
    assert env_flag("GOVDESK_T_FLAG") is True and env_flag("GOVDESK_T_UNSET", True) is True
    assert env_list("GOVDESK_T_LIST") == ("10.0.0.1", "127.0.0.1")
    assert env_str("GOVDESK_T_BLANK", "default") == "default" and env_int("GOVDESK_T_BLANK", 7) == 7
    monkeypatch.setenv("GOVDESK_T_INT", "many")
    with pytest.raises(ValueError, match="GOVDESK_T_INT"):
        env_int("GOVDESK_T_INT", 1)
    monkeypatch.setenv("GOVDESK_T_FLAG", "maybe")
    with pytest.raises(ValueError, match="GOVDESK_T_FLAG"):
        env_flag("GOVDESK_T_FLAG")


# Still reading os.environ themselves (owned elsewhere in this round): to use common.settings' env_* helpers.
ENV_PENDING: set[str] = set()


def test_only_common_settings_reads_the_environment():
    import re

    from common.settings import ROOT

    readers = set()
    for package in ("bot", "catalogue", "clients", "cluster", "common", "connectors", "safety", "staffapi",
                    "textnorm", "voice", "workorders"):
        for path in (ROOT / package).rglob("*.py"):
            if re.search(r"os\.environ|os\.getenv|from os import", path.read_text(encoding="utf-8")):
                readers.add(path.relative_to(ROOT).as_posix())
    assert readers - ENV_PENDING == {"common/settings.py"}
    assert ENV_PENDING <= readers   # a file fixed elsewhere leaves this list


def test_children_get_sleeping_openmp_workers_unless_the_operator_chose():
    import os
    import subprocess
    import sys

    from common.settings import ROOT, environment

    assert environment()["OMP_WAIT_POLICY"] == os.environ.get("OMP_WAIT_POLICY", "PASSIVE")
    code = "import common.settings, os; print(os.environ['OMP_WAIT_POLICY'])"
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    mine = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    chosen = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**env, "OMP_WAIT_POLICY": "ACTIVE"},
                            capture_output=True, text=True)
    assert (mine.stdout.strip(), chosen.stdout.strip()) == ("PASSIVE", "ACTIVE")
