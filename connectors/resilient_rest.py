"""The REST channel, guarded: a caller never gets silence when a backend fails.

Rasa swallows a failing custom action (action server down) or tracker store
(Redis restarting) and answers with an empty list. Here an empty answer after
such a failure becomes a short apology plus a hand-off event, so every channel
built on the REST webhook (voice gateway, consoles) can put a person on the line.
Registered in credentials.yml under its module path; its name stays "rest" so the
URL is the standard /webhooks/rest/webhook.

Bounds and trust (issue 12): a message longer than MAX_MESSAGE_CHARS is not parsed (NLU
memory grows with the square of its length); the caller hears a short Chinese sentence.
`metadata.caller` (the phone a call comes from, which unlocks "my orders") is kept only when
the request carries the internal channel token (header X-Govdesk-Channel-Token: the voice
gateway and staff API, which know the number from the PBX or a verified login); from anyone
else it is dropped, so knowing a phone number lists nothing. Likewise the conversation id: a
public client's `sender` becomes pseudonym("web", sender) (connectors/shared.py); only internal
callers name conversations directly.
"""
from __future__ import annotations

import hmac
import logging
import urllib.parse

import aiohttp
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput

from common.privacy import rest_channel_token as channel_token
from common.settings import PORTS, env_str
from connectors.shared import pseudonym
from textnorm.speech import shape_for_voice

logger = logging.getLogger(__name__)

APOLOGY = "抱歉，系统出了点问题。我马上为您转人工，请不要挂机。"
MAX_MESSAGE_CHARS = 500
TOO_LONG = "您说的话太长了。请分几句说，一次说一件事。"
TRUSTED_METADATA = ("caller",)


async def action_server_alive(timeout: float = 1.5) -> bool:
    url = env_str("ACTION_ENDPOINT_URL", f"http://localhost:{PORTS.actions}/webhook")
    parts = urllib.parse.urlsplit(url)
    health = f"{parts.scheme}://{parts.netloc}/health"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            async with session.get(health) as resp:
                return resp.status == 200
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False


class ResilientRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    @staticmethod
    def trusted(request) -> bool:
        given = request.headers.get("X-Govdesk-Channel-Token", "")
        return bool(given) and hmac.compare_digest(given, channel_token())

    async def _extract_sender(self, req):
        """The conversation id. An internal caller (voice gateway, staff API) names it; a public
        client's id is only a handle: it is mapped into the web namespace (pseudonym), so no
        client can join a conversation of another channel or of an internal caller by naming it."""
        sender = await super()._extract_sender(req)
        if sender is None or self.trusted(req):
            return sender
        return pseudonym("web", str(sender))

    def get_metadata(self, request):
        metadata = super().get_metadata(request)
        if not isinstance(metadata, dict):
            return metadata
        if not self.trusted(request):
            metadata = {k: v for k, v in metadata.items() if k not in TRUSTED_METADATA}
        return metadata

    def blueprint(self, on_new_message):
        async def guarded(message: UserMessage) -> None:
            collector = message.output_channel
            if isinstance(message.text, str) and len(message.text) > MAX_MESSAGE_CHARS:
                await collector.send_text_message(message.sender_id, TOO_LONG)
                return
            before = len(getattr(collector, "messages", []))
            failed = False
            try:
                await on_new_message(message)
            except Exception:  # noqa: BLE001 - logged; the caller gets the apology below
                logger.exception("message handling failed")
                failed = True
            if (message.metadata or {}).get("channel") == "voice":
                # what a caller hears: one fact per sentence, no sentence over 40 characters (24 once
                # the caller asked for slower speech: the gateway's metadata or this turn's ask payload)
                new = collector.messages[before:]
                slow = (message.metadata or {}).get("speech_rate") == "slow" or any(
                    isinstance(m.get("custom"), dict) and m["custom"].get("event") == "ask"
                    and m["custom"].get("rate") == "slow" for m in new)
                for m in new:
                    if isinstance(m.get("text"), str):
                        m["text"] = shape_for_voice(m["text"], slow)
            if len(collector.messages) == before and (failed or not await action_server_alive()):
                await collector.send_text_message(message.sender_id, APOLOGY)
                await collector.send_custom_json(
                    message.sender_id, {"event": "handoff", "reason": "backend_unavailable"}
                )

        return super().blueprint(guarded)
