"""`rasa test core` on the guided-flow test stories: fails when any story fails."""
from __future__ import annotations

import subprocess
import sys

import pytest

from common.settings import ROOT

pytestmark = pytest.mark.integration


def test_flow_stories_pass(trained_model, tmp_path):
    out = tmp_path / "results"
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "test", "core", "--stories", "bot/tests/test_flows.yml",
         "--model", str(trained_model), "--out", str(out), "--fail-on-prediction-errors",
         "--endpoints", "tests/bot/endpoints_no_actions.yml"],
        cwd=ROOT, capture_output=True, text=True,
    )
    failed = out / "failed_test_stories.yml"
    detail = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:] + detail[-3000:]
    assert "None of the test stories failed" in detail, detail[-3000:]
