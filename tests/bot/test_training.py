"""The training step retrains exactly when a training input changes."""
from __future__ import annotations

from bot import training
from common.settings import ROOT


def test_fingerprint_changes_when_training_data_changes(tmp_path, monkeypatch):
    config = tmp_path / "config.yml"
    config.write_text((ROOT / "config.yml").read_text())
    monkeypatch.setattr(training, "CONFIG", config)
    before = training.fingerprint()
    assert training.fingerprint() == before
    config.write_text(config.read_text() + "\n# changed\n")
    assert training.fingerprint() != before
