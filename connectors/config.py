"""WeChat channel configuration, read from the environment at request time.

Reading lazily (not at import) means the values the Rasa process was started
with are used even when credentials.yml carries no values, and a missing secret
makes the endpoint answer 503 instead of running with an insecure default.
"""
from __future__ import annotations

from dataclasses import dataclass

from common.settings import env_float, env_int, env_str, voice_url

PRODUCTION_API_BASE = "https://api.weixin.qq.com"


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
        token=env_str("WECHAT_TOKEN"),
        appid=env_str("WECHAT_APPID"),
        secret=env_str("WECHAT_APPSECRET"),
        encoding_aes_key=env_str("WECHAT_ENCODING_AES_KEY"),
        mode=env_str("WECHAT_ENCRYPT_MODE", "safe").lower(),
        api_base=env_str("WECHAT_API_BASE", PRODUCTION_API_BASE).rstrip("/"),
        passive_budget_s=env_float("WECHAT_PASSIVE_BUDGET_S", 4.5),
        max_skew_s=env_int("WECHAT_MAX_SKEW_S", 300),
        dedup_ttl_s=env_int("WECHAT_DEDUP_TTL_S", 3600),
        max_body=env_int("WECHAT_MAX_BODY", 64 * 1024),
        voice_url=env_str("WECHAT_VOICE_URL") or voice_url(),
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
        appid=env_str("WECHAT_MINI_APPID"),
        secret=env_str("WECHAT_MINI_SECRET"),
        api_base=env_str("WECHAT_API_BASE", PRODUCTION_API_BASE).rstrip("/"),
        session_ttl_s=env_int("WECHAT_MINI_SESSION_TTL_S", 7 * 24 * 3600),
        max_body=env_int("WECHAT_MAX_BODY", 64 * 1024),
        outbox_ttl_s=env_int("WECHAT_MINI_OUTBOX_TTL_S", 24 * 3600),
        voice_url=env_str("WECHAT_VOICE_URL") or voice_url(),
    )
