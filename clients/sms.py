"""Client of the operator's SMS gateway (an outside service; the hotline's SMS platform).

Wire format (our side of the contract; a deployment puts an adapter for its provider behind it):
    POST {SMS_GATEWAY_URL}   Authorization: Bearer {SMS_GATEWAY_TOKEN}
    {"phone": "13812345678", "text": "…", "purpose": "otp"}
    -> 2xx {"id": "..."} when the gateway has accepted the message; anything else is a failure.
Used by the action server to send one-time codes (workorders/otp.py). No message text is logged.
"""
from __future__ import annotations

import logging

import aiohttp

from common.privacy import mask_phone
from common.settings import sms_gateway

log = logging.getLogger("clients.sms")


class SmsUnavailable(RuntimeError):
    pass


class SmsClient:
    def __init__(self, url: str, token: str, timeout_s: float = 5.0):
        self.url, self.token = url, token
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_env(cls) -> "SmsClient | None":
        conf = sms_gateway()
        return cls(*conf) if conf else None

    async def send(self, phone: str, text: str, purpose: str = "otp") -> str:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        try:
            async with self._session.post(self.url, json={"phone": phone, "text": text, "purpose": purpose},
                                          headers={"Authorization": f"Bearer {self.token}"}) as resp:
                if resp.status // 100 != 2:
                    raise SmsUnavailable(f"status {resp.status}")
                body = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("SMS to %s failed: %s", mask_phone(phone), type(exc).__name__)
            raise SmsUnavailable(type(exc).__name__) from exc
        log.info("SMS (%s) to %s accepted", purpose, mask_phone(phone))
        return str((body or {}).get("id", ""))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
