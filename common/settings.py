"""One place for ports, paths and service URLs; environment variables override.

The same names are used by `make run`, the tests and docker-compose.yml.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent


# --- the one parser of environment variables: every module reads its settings through these ------
# (tests/common/test_settings.py checks that no other module reads os.environ)
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def env_str(name: str, default: str = "") -> str:
    """The variable's value, stripped; `default` when unset or blank."""
    value = os.environ.get(name, "").strip()
    return value or default


def _typed(name: str, default, cast, what: str):
    """A value that cannot be cast stops the process with the variable's name."""
    value = env_str(name)
    try:
        return cast(value) if value else default
    except ValueError:
        raise ValueError(f"{name} must be {what}, got {value!r}") from None


def env_int(name: str, default: int) -> int:
    return _typed(name, default, int, "an integer")


def env_float(name: str, default: float) -> float:
    return _typed(name, default, float, "a number")


def env_flag(name: str, default: bool = False) -> bool:
    """1/true/yes/on or 0/false/no/off (any case); unset or blank: `default`."""
    value = env_str(name).lower()
    if not value:
        return default
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    raise ValueError(f"{name} must be one of {_TRUE + _FALSE}, got {value!r}")


def env_list(name: str, default: str = "") -> tuple[str, ...]:
    """A comma-separated list, items stripped, empty items dropped."""
    return tuple(p.strip() for p in env_str(name, default).split(",") if p.strip())


# OpenMP runtimes (the e5 embedder's, shared by soname with scikit-learn's; CTranslate2's) spin-wait
# for work by default: under load every idle worker burns a core. Measured here on a busy box: one e5
# query of a 26-character message cost 590 ms of CPU (1.7 s wall) spinning, 25 ms passive. The
# runtime reads this when it loads, so it must be in the environment before the process starts (or
# before its first import of scikit-learn); an operator's own value wins.
COMPUTE_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}
for _name, _value in COMPUTE_ENV.items():
    os.environ.setdefault(_name, _value)   # this process, when settings is imported first


def environment() -> dict[str, str]:
    """A copy of this process's environment, for a child process (plus its own variables)."""
    return {**COMPUTE_ENV, **os.environ}


@dataclass(frozen=True)
class Ports:
    rasa: int = env_int("RASA_PORT", 5005)           # the public edge (edge/haproxy.cfg) in front of Rasa
    rasa_internal: int = env_int("RASA_INTERNAL_PORT", 0)  # Rasa itself, loopback only; 0: a free port
    actions: int = env_int("ACTION_PORT", 5055)
    staff_api: int = env_int("STAFF_API_PORT", 8000)
    voice: int = env_int("VOICE_PORT", 8765)
    audiosocket: int = env_int("AUDIOSOCKET_PORT", 9092)
    redis: int = env_int("REDIS_PORT", 6379)


PORTS = Ports()

DATA_DIR = Path(env_str("GOVDESK_DATA_DIR", str(ROOT / "var")))
MODELS_DIR = Path(env_str("GOVDESK_MODELS_DIR", str(ROOT / "models")))
BOT_DIR = ROOT / "bot"
# The conversation channels: the `channel` value of every message's metadata (docs/ARCHITECTURE.md).
CHANNELS = ("voice", "wechat", "miniprogram", "web", "frontdesk")


@dataclass(frozen=True)
class RedisTarget:
    host: str
    port: int
    db: int
    password: str

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/{self.db}"


def parse_redis_url(url: str) -> RedisTarget:
    parsed = urlparse(url)
    if parsed.scheme not in ("redis", "rediss"):
        raise ValueError(f"REDIS_URL must start with redis://, got {url!r}")
    db = int(parsed.path.lstrip("/") or 0)
    return RedisTarget(parsed.hostname or "localhost", parsed.port or 6379, db, parsed.password or "")


def redis_url() -> str:
    """The Redis every component talks to (set by the launcher when embedded)."""
    return env_str("REDIS_URL", f"redis://localhost:{PORTS.redis}/0")


def rasa_url() -> str:
    """Rasa itself (loopback, set by the launcher); its HTTP API needs rasa_token()."""
    return env_str("RASA_URL", f"http://localhost:{PORTS.rasa}")




def staff_api_url() -> str:
    return env_str("STAFF_API_URL", f"http://localhost:{PORTS.staff_api}")


def staff_api_workers() -> int:
    """STAFF_API_WORKERS: event-loop processes of `python -m staffapi` on one port (staffapi/workers.py).
    Default: one per two CPUs, at most 8 — the API shares its box with Rasa, the action server and Redis;
    on a loaded 2-core box a second loop gave 0.68-1.00x of one (docs/benchmarks/reports.md)."""
    return max(1, env_int("STAFF_API_WORKERS", min((os.cpu_count() or 1) // 2, 8)))


def voice_url() -> str:
    return env_str("VOICE_URL", f"http://localhost:{PORTS.voice}")


def sms_gateway() -> tuple[str, str] | None:
    """(url, token) of the operator's SMS gateway (clients/sms.py), from SMS_GATEWAY_URL and
    SMS_GATEWAY_TOKEN; None when unset: then no one-time codes can be sent."""
    url = env_str("SMS_GATEWAY_URL", "").strip()
    return (url, env_str("SMS_GATEWAY_TOKEN", "")) if url else None
