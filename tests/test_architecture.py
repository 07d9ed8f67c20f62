"""Contracts the layout promises (docs/ARCHITECTURE.md), checked on every run.

- import contracts in .importlinter (layers; the core imports no web/bot framework; voice never imports the
  bot or the work-order core; only the store and the connection module touch redis);
- every module imports alone, in a fresh interpreter state (no cycle hidden behind import order);
- tests mirror the source tree: tests/<package>/.../test_<module>[_<aspect>].py, except the
  cross-cutting folders named in CROSS_CUTTING;
- docs/ARCHITECTURE.md names every top-level package.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from common.settings import ROOT

PACKAGES = ("bot", "catalogue", "clients", "cluster", "common", "connectors", "safety", "staffapi", "textnorm", "voice",
            "workorders")
# Test folders that exercise several packages at once (the whole stack, a browser, a conversation suite).
CROSS_CUTTING = ("e2e", "integration", "flows", "security", "cluster")


def source_modules() -> list[str]:
    names = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name == "__main__.py":
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--config", str(ROOT / ".importlinter"), "--no-cache"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


IMPORT_ALONE = r"""
import importlib, json, sys, traceback
packages = tuple(sys.argv[1].split(","))
failures = {}
for name in json.loads(sys.stdin.read()):
    for loaded in [m for m in sys.modules if m.split(".")[0] in packages]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except BaseException:
        failures[name] = traceback.format_exc(limit=3)[-600:]
print(json.dumps(failures))
"""


def test_every_module_imports_alone():
    modules = source_modules()
    result = subprocess.run([sys.executable, "-c", IMPORT_ALONE, ",".join(PACKAGES)], cwd=ROOT,
                            input=json.dumps(modules), capture_output=True, text=True, timeout=900,
                            env={"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3",
                                 "RASA_TELEMETRY_ENABLED": "false", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-3000:]
    failures = json.loads(result.stdout.strip().splitlines()[-1])
    assert failures == {}, "\n".join(f"{k}:\n{v}" for k, v in failures.items())


def test_tests_mirror_the_source_tree():
    modules = {tuple(m.split(".")) for m in source_modules()}
    stray = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        rel = path.relative_to(ROOT / "tests")
        if len(rel.parts) == 1 or rel.parts[0] in CROSS_CUTTING:
            continue
        folder, stem = rel.parts[:-1], path.stem[len("test_"):]
        if not any(m[:-1] == folder and (stem == m[-1] or stem.startswith(m[-1] + "_")) for m in modules):
            stray.append(str(rel))
    assert stray == [], f"test files not named after a module of their folder's package: {stray}"


def test_architecture_doc_names_every_package():
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = [p for p in PACKAGES if f"\n{p}/" not in doc]
    assert missing == [], f"docs/ARCHITECTURE.md does not describe: {missing}"
