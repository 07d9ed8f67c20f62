"""Client for the WeChat server API: access token, customer-service messages (客服消息),
temporary media download, and the mini-program's jscode2session.

The base URL is configurable (WECHAT_API_BASE) so tests point it at a local fake.
The access token is cached in Redis and refreshed at 80 % of expires_in; when
WeChat says a token is invalid or expired (40001/40014/42001) it is refreshed and
the call retried once. Secrets and tokens are never logged.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass

import aiohttp

from common.privacy import mask_text
from connectors import dedup

log = logging.getLogger(__name__)

TOKEN_ERRORS = {40001, 40014, 42001}
OUT_OF_WINDOW = 45015          # user has not interacted within 48 hours
QUOTA_ERRORS = {45047}         # too many customer-service messages without a user reply
REFRESH_AT = 0.8               # refresh when 80 % of expires_in has passed
CS_TEXT_LIMIT = 600            # characters per customer-service text (WeChat caps at 2048 bytes)

_sessions: dict[int, aiohttp.ClientSession] = {}


def http() -> aiohttp.ClientSession:
    loop = asyncio.get_running_loop()
    sess = _sessions.get(id(loop))
    if sess is None or sess.closed:
        sess = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=8))
        _sessions[id(loop)] = sess
    return sess


class WeChatAPIError(Exception):
    def __init__(self, errcode: int, errmsg: str = ""):
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


async def _get_json(url: str, params: dict) -> dict:
    # WeChat answers some endpoints with Content-Type text/plain: parse the text.
    async with http().get(url, params=params) as resp:
        text = await resp.text()
        if resp.status != 200:
            raise WeChatAPIError(-1, f"HTTP {resp.status}")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise WeChatAPIError(-1, "response is not JSON") from exc


@dataclass
class SendResult:
    delivered: bool
    errcode: int = 0
    errmsg: str = ""


class WeChatAPI:
    """API calls for one official account (appid/secret)."""

    def __init__(self, appid: str, secret: str, api_base: str):
        self.appid = appid
        self.secret = secret
        self.base = api_base.rstrip("/")

    # -- access token ------------------------------------------------------
    def _token_key(self) -> str:
        return f"{dedup.PREFIX}:token:{self.appid}"

    async def _fetch_token(self) -> tuple[str, int]:
        data = await _get_json(f"{self.base}/cgi-bin/token", {
            "grant_type": "client_credential", "appid": self.appid, "secret": self.secret})
        if "access_token" not in data:
            raise WeChatAPIError(int(data.get("errcode", -1)), str(data.get("errmsg", "")))
        return data["access_token"], int(data.get("expires_in", 7200))

    async def access_token(self, force: bool = False, bad_token: str | None = None) -> str:
        """Cached token; `force` refreshes unless another worker already replaced `bad_token`."""
        r = dedup.client()
        key = self._token_key()
        cached = await r.get(key)
        if cached and not force:
            return cached
        if cached and force and bad_token is not None and cached != bad_token:
            return cached
        lock = f"{key}:lock"
        deadline = time.monotonic() + 10
        while not await r.set(lock, "1", nx=True, ex=15):
            await asyncio.sleep(0.05)
            fresh = await r.get(key)
            if fresh and fresh != bad_token and fresh != (cached if force else None):
                return fresh
            if time.monotonic() > deadline:
                raise WeChatAPIError(-1, "timed out waiting for the token refresh lock")
        try:
            fresh = await r.get(key)
            if fresh and not force:
                return fresh
            if fresh and force and bad_token is not None and fresh != bad_token:
                return fresh
            token, expires_in = await self._fetch_token()
            await r.set(key, token, ex=max(1, int(expires_in * REFRESH_AT)))
            log.info("wechat access token refreshed for appid %s (expires_in %ss)", self.appid, expires_in)
            return token
        finally:
            await r.delete(lock)

    async def _with_token(self, call):
        """Run call(token); on a token error refresh once and retry."""
        token = await self.access_token()
        data = await call(token)
        code = int(data.get("errcode", 0) or 0) if isinstance(data, dict) else 0
        if code in TOKEN_ERRORS:
            log.warning("wechat token rejected (errcode %s); refreshing and retrying once", code)
            token = await self.access_token(force=True, bad_token=token)
            data = await call(token)
        return data

    # -- customer-service messages ------------------------------------------
    async def send_text(self, openid: str, text: str) -> SendResult:
        async def call(token: str) -> dict:
            body = json.dumps({"touser": openid, "msgtype": "text", "text": {"content": text}},
                              ensure_ascii=False).encode("utf-8")
            async with http().post(f"{self.base}/cgi-bin/message/custom/send",
                                   params={"access_token": token}, data=body,
                                   headers={"Content-Type": "application/json; charset=utf-8"}) as resp:
                raw = await resp.text()
            try:
                return json.loads(raw)
            except ValueError:
                return {"errcode": -1, "errmsg": f"HTTP {resp.status}"}

        try:
            data = await self._with_token(call)
        except (aiohttp.ClientError, asyncio.TimeoutError, WeChatAPIError) as exc:
            return SendResult(False, -1, str(exc))
        code = int(data.get("errcode", 0) or 0)
        return SendResult(code == 0, code, str(data.get("errmsg", "")))

    async def send_texts(self, openid: str, sender_id: str, texts: list[str]) -> list[SendResult]:
        """Deliver texts in order; stop at the first undeliverable one and record the rest."""
        results = []
        chunks = [c for t in texts for c in split_text(t) if c.strip()]
        for i, chunk in enumerate(chunks):
            res = await self.send_text(openid, chunk)
            results.append(res)
            if not res.delivered:
                await record_undeliverable(sender_id, res, chunks[i:])
                break
        return results

    # -- media ----------------------------------------------------------------
    async def get_media(self, media_id: str) -> tuple[bytes, str]:
        result: dict = {}

        async def call(token: str):
            async with http().get(f"{self.base}/cgi-bin/media/get",
                                  params={"access_token": token, "media_id": media_id}) as resp:
                ctype = resp.headers.get("Content-Type", "")
                body = await resp.read()
            if "json" in ctype or "text/plain" in ctype or body[:1] == b"{":
                try:
                    return json.loads(body)
                except ValueError:
                    pass
            result["media"] = (body, ctype)
            return {"errcode": 0}

        data = await self._with_token(call)
        if "media" not in result:
            raise WeChatAPIError(int(data.get("errcode", -1)), str(data.get("errmsg", "")))
        return result["media"]


async def record_undeliverable(sender_id: str, res: SendResult, texts: list[str]) -> None:
    entry = {"sender": sender_id, "errcode": res.errcode, "errmsg": res.errmsg, "at": int(time.time()),
             "texts": [mask_text(t) for t in texts]}
    r = dedup.client()
    key = f"{dedup.PREFIX}:undeliverable"
    await r.lpush(key, json.dumps(entry, ensure_ascii=False))
    await r.ltrim(key, 0, 9999)
    log.warning("wechat reply undeliverable for %s (errcode %s): %d message(s) recorded",
                sender_id, res.errcode, len(texts))


def split_text(text: str, limit: int = CS_TEXT_LIMIT) -> list[str]:
    if len(text) <= limit:
        return [text]
    return [text[i:i + limit] for i in range(0, len(text), limit)]


async def jscode2session(api_base: str, appid: str, secret: str, code: str) -> dict:
    """Mini-program login: {openid, session_key, unionid?} or raises WeChatAPIError."""
    data = await _get_json(f"{api_base.rstrip('/')}/sns/jscode2session", {
        "appid": appid, "secret": secret, "js_code": code, "grant_type": "authorization_code"})
    if data.get("errcode") or "openid" not in data:
        raise WeChatAPIError(int(data.get("errcode", -1) or -1), str(data.get("errmsg", "")))
    return data
