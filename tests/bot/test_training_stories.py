"""Run `rasa data validate` and `rasa test core` on every story in bot/tests/ (core, flows,
work orders) against the trained model."""
from __future__ import annotations

import subprocess
import sys

import pytest

from common.settings import ROOT

pytestmark = pytest.mark.integration


def test_training_data_is_consistent(trained_model):
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "data", "validate", "--config", "config.yml",
         "--domain", "bot/domain", "--data", "bot/data"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_rasa_test_stories_pass(trained_model, tmp_path):
    out = tmp_path / "results"
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "test", "core", "--stories", "bot/tests",
         "--model", str(trained_model), "--out", str(out), "--fail-on-prediction-errors",
         "--endpoints", "tests/bot/endpoints_no_actions.yml"],
        cwd=ROOT, capture_output=True, text=True,
    )
    failed = out / "failed_test_stories.yml"
    detail = failed.read_text() if failed.exists() else ""
    # --fail-on-prediction-errors makes rasa exit non-zero on any wrong prediction.
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:] + detail[-3000:]
    assert "None of the test stories failed" in detail, detail[-3000:]
