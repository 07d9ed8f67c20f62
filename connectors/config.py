"""WeChat channel configuration, read from the environment at request time.

Reading lazily (not at import) means the values the Rasa process was started
with are used even when credentials.yml carries no values, and a missing secret
makes the endpoint answer 503 instead of running with an insecure default.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from common.settings import voice_url

PRODUCTION_API_BASE = "https://api.weixin.qq.com"


def _float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def _int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class OfficialConfig:
    token: str
    appid: str
    secret: str
    encoding_aes_key: str
    mode: str                 # plain | compatible | safe
    api_base: str
    passive_budget_s: float
    max_skew_s: int
    dedup_ttl_s: int
    max_body: int
    voice_url: str

    @property
    def configured(self) -> bool:
        if not self.token or not self.appid:
            return False
        if self.mode in ("compatible", "safe") and len(self.encoding_aes_key) != 43:
            return False
        return True


def official() -> OfficialConfig:
    return OfficialConfig(
        token=os.environ.get("WECHAT_TOKEN", ""),
        appid=os.environ.get("WECHAT_APPID", ""),
        secret=os.environ.get("WECHAT_APPSECRET", ""),
        encoding_aes_key=os.environ.get("WECHAT_ENCODING_AES_KEY", ""),
        mode=os.environ.get("WECHAT_ENCRYPT_MODE", "safe").lower(),
        api_base=os.environ.get("WECHAT_API_BASE", PRODUCTION_API_BASE).rstrip("/"),
        passive_budget_s=_float("WECHAT_PASSIVE_BUDGET_S", 4.5),
        max_skew_s=_int("WECHAT_MAX_SKEW_S", 300),
        dedup_ttl_s=_int("WECHAT_DEDUP_TTL_S", 3600),
        max_body=_int("WECHAT_MAX_BODY", 64 * 1024),
        voice_url=os.environ.get("WECHAT_VOICE_URL", "") or voice_url(),
    )


@dataclass(frozen=True)
class MiniConfig:
    appid: str
    secret: str
    api_base: str
    session_ttl_s: int
    max_body: int
    outbox_ttl_s: int
    voice_url: str

    @property
    def configured(self) -> bool:
        return bool(self.appid and self.secret)


def mini() -> MiniConfig:
    return MiniConfig(
        appid=os.environ.get("WECHAT_MINI_APPID", ""),
        secret=os.environ.get("WECHAT_MINI_SECRET", ""),
        api_base=os.environ.get("WECHAT_API_BASE", PRODUCTION_API_BASE).rstrip("/"),
        session_ttl_s=_int("WECHAT_MINI_SESSION_TTL_S", 7 * 24 * 3600),
        max_body=_int("WECHAT_MAX_BODY", 64 * 1024),
        outbox_ttl_s=_int("WECHAT_MINI_OUTBOX_TTL_S", 24 * 3600),
        voice_url=os.environ.get("WECHAT_VOICE_URL", "") or voice_url(),
    )
