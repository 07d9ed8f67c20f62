"""Async client for Rasa's REST channel and tracker API (one shared aiohttp session per process).

POST {RASA_URL}/webhooks/rest/webhook  {"sender", "message", "metadata"} with the internal channel token
(header X-Govdesk-Channel-Token: trusted metadata such as the caller's number is kept) -> list of replies.
GET {RASA_URL}/conversations/<sender>/tracker?include_events=NONE&token=<RASA_TOKEN> -> slots.
Used by the voice gateway and the staff API's bot relay.
"""
from __future__ import annotations

import logging
from urllib.parse import quote

import aiohttp

from common.privacy import rasa_token
from common.privacy import rest_channel_token as channel_token

log = logging.getLogger("clients.rasa")


class RasaUnavailable(RuntimeError):
    pass


class RasaClient:
    def __init__(self, base_url: str, timeout_s: float = 15.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def send(self, sender: str, text: str, metadata: dict) -> list[dict]:
        payload = {"sender": sender, "message": text, "metadata": metadata}
        try:
            s = await self.session()
            async with s.post(f"{self.base_url}/webhooks/rest/webhook", json=payload,
                              headers={"X-Govdesk-Channel-Token": channel_token()}) as resp:
                if resp.status != 200:
                    raise RasaUnavailable(f"Rasa answered HTTP {resp.status}")
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise RasaUnavailable(str(exc) or type(exc).__name__) from exc
        return data if isinstance(data, list) else []

    async def tracker(self, sender: str) -> dict:
        """Slots and latest message (no events); {} when unavailable."""
        try:
            s = await self.session()
            url = (f"{self.base_url}/conversations/{quote(sender, safe='')}/tracker"
                   f"?include_events=NONE&token={quote(rasa_token(), safe='')}")
            async with s.get(url, timeout=aiohttp.ClientTimeout(total=3)) as resp:
                if resp.status != 200:
                    return {}
                data = await resp.json(content_type=None)
                return data if isinstance(data, dict) else {}
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return {}

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
