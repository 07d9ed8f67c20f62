"""Train the Rasa model when it is missing or any of its inputs changed.

The model file name carries a fingerprint of every training input, so an
unchanged project never retrains and a changed one always does.
"""
from __future__ import annotations

import fcntl
import hashlib
import subprocess
import sys
from pathlib import Path

from common.settings import BOT_DIR, MODELS_DIR, ROOT

CONFIG = ROOT / "config.yml"
DOMAIN = BOT_DIR / "domain"
DATA = BOT_DIR / "data"


def generate_training_data() -> None:
    """Build NLU data and domain parts derived from the catalogue (one source of truth)."""
    from catalogue import nlu_build

    nlu_build.main()


def training_inputs() -> list[Path]:
    files = [CONFIG]
    for folder in (DOMAIN, DATA):
        files += sorted(p for p in folder.rglob("*.yml") if p.is_file())
    return files


def fingerprint() -> str:
    digest = hashlib.sha256()
    for path in training_inputs():
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def model_path(models_dir: Path = MODELS_DIR) -> Path:
    return models_dir / f"govdesk-{fingerprint()}.tar.gz"


def ensure_model(models_dir: Path = MODELS_DIR, quiet: bool = False) -> Path:
    models_dir.mkdir(parents=True, exist_ok=True)
    # One trainer at a time (make run, tests and benches may start together).
    with open(models_dir / ".train.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _ensure_model_locked(models_dir, quiet)


def warm_caches() -> None:
    """Embed the catalogue and train the learned act/emergency reader once (cached on disk) so
    Rasa's first parse does not pay for them."""
    from bot.nlu import learned
    from catalogue import semantic

    semantic.vectors()
    learned.model()


def _ensure_model_locked(models_dir: Path, quiet: bool) -> Path:
    generate_training_data()
    warm_caches()
    target = model_path(models_dir)
    if target.exists():
        return target
    cmd = [
        sys.executable, "-m", "rasa", "train",
        "--config", str(CONFIG), "--domain", str(DOMAIN), "--data", str(DATA),
        "--out", str(models_dir), "--fixed-model-name", target.name[: -len(".tar.gz")],
    ]
    print(f"[train] training Rasa model -> {target.name}", flush=True)
    result = subprocess.run(cmd, cwd=ROOT, text=True,
                            stdout=subprocess.PIPE if quiet else None,
                            stderr=subprocess.STDOUT if quiet else None)
    if result.returncode != 0:
        tail = (result.stdout or "")[-4000:]
        raise RuntimeError(f"rasa train failed (exit {result.returncode}):\n{tail}")
    if not target.exists():
        raise RuntimeError(f"rasa train did not produce {target}")
    # Drop stale models so the folder does not grow without bound.
    for old in models_dir.glob("govdesk-*.tar.gz"):
        if old != target:
            old.unlink()
    return target


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.training [--path-file FILE]`: prints (and optionally writes) the model's path."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bot.training")
    parser.add_argument("--path-file", type=Path, default=None)
    args = parser.parse_args(argv)
    path = ensure_model()
    if args.path_file:
        args.path_file.write_text(str(path))
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
