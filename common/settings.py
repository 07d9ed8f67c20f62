"""One place for ports, paths and service URLs; environment variables override.

The same names are used by `make run`, the tests and docker-compose.yml.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass(frozen=True)
class Ports:
    rasa: int = _int("RASA_PORT", 5005)           # the public edge (edge/haproxy.cfg) in front of Rasa
    rasa_internal: int = _int("RASA_INTERNAL_PORT", 0)  # Rasa itself, loopback only; 0: a free port
    actions: int = _int("ACTION_PORT", 5055)
    staff_api: int = _int("STAFF_API_PORT", 8000)
    voice: int = _int("VOICE_PORT", 8765)
    audiosocket: int = _int("AUDIOSOCKET_PORT", 9092)
    redis: int = _int("REDIS_PORT", 6379)


PORTS = Ports()

DATA_DIR = Path(os.environ.get("GOVDESK_DATA_DIR", ROOT / "var"))
MODELS_DIR = Path(os.environ.get("GOVDESK_MODELS_DIR", ROOT / "models"))
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
    return os.environ.get("REDIS_URL", f"redis://localhost:{PORTS.redis}/0")


def rasa_url() -> str:
    """Rasa itself (loopback, set by the launcher); its HTTP API needs rasa_token()."""
    return os.environ.get("RASA_URL", f"http://localhost:{PORTS.rasa}")


def rasa_token() -> str:
    """Token of Rasa's HTTP API (`rasa run --auth-token`): env RASA_TOKEN, else derived from
    the project secret, so every process of one installation agrees with no setup."""
    token = os.environ.get("RASA_TOKEN")
    if token:
        return token
    from common.privacy import derive_key

    return derive_key("rasa-api").hex()


def action_token() -> str:
    """Shared secret between Rasa and the action server (bot/action_server.py; endpoints.yml sends
    it as ?token=): env ACTION_TOKEN, else derived from the project secret like rasa_token()."""
    token = os.environ.get("ACTION_TOKEN")
    if token:
        return token
    from common.privacy import derive_key

    return derive_key("action-server").hex()


def staff_api_url() -> str:
    return os.environ.get("STAFF_API_URL", f"http://localhost:{PORTS.staff_api}")


def voice_url() -> str:
    return os.environ.get("VOICE_URL", f"http://localhost:{PORTS.voice}")


def rest_channel_token() -> str:
    """Header X-Govdesk-Channel-Token of internal callers of the REST channel (voice gateway,
    staff API): with it `metadata.caller` is trusted (connectors/resilient_rest.py)."""
    token = os.environ.get("GOVDESK_CHANNEL_TOKEN")
    if token:
        return token
    from common.privacy import derive_key

    return derive_key("rest-channel").hex()


def sms_gateway() -> tuple[str, str] | None:
    """(url, token) of the operator's SMS gateway (clients/sms.py), from SMS_GATEWAY_URL and
    SMS_GATEWAY_TOKEN; None when unset: then no one-time codes can be sent."""
    url = os.environ.get("SMS_GATEWAY_URL", "").strip()
    return (url, os.environ.get("SMS_GATEWAY_TOKEN", "")) if url else None
