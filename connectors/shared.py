"""Pieces shared by the WeChat channels: bounded body reading, sender ids, the
voice gateway upload, and turning Rasa's bot messages into channel replies.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging

import aiohttp
from sanic.request import Request

from common.privacy import derive_key, voice_channel_token
from connectors.wechat_api import http

log = logging.getLogger(__name__)

HANDOFF_NOTICE = "人工客服马上为您服务"
VOICE_DOWN_TEXT = "语音暂时听不了，请您打字告诉我，或者回复“转人工”。"
VOICE_EMPTY_TEXT = "没听清您说的话，请再说一遍，或者打字告诉我。"


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """Read a streamed request body, refusing more than `limit` bytes (-> 413).

    Routes using this are registered with stream=True, so an oversized body is
    rejected from Content-Length before it is read, or as soon as it exceeds the
    limit while streaming (chunked uploads).
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise BodyTooLarge()
        except ValueError:
            raise BodyTooLarge() from None
    if request.body or request.stream is None:  # non-streaming route: already buffered
        body = request.body or b""
        if len(body) > limit:
            raise BodyTooLarge()
        return body
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream:
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _key() -> bytes:
    return derive_key("wechat-openid")


def pseudonym(prefix: str, openid: str) -> str:
    """Stable, non-reversible Rasa sender id for an openid (HMAC-SHA256, like caller_key)."""
    digest = hmac.new(_key(), openid.encode(), hashlib.sha256).hexdigest()
    return f"{prefix}-{digest[:24]}"


def mask_openid(openid: str) -> str:
    return (openid[:4] + "****" + openid[-2:]) if len(openid) > 8 else "****"


async def voice_turn(voice_url: str, audio: bytes, content_type: str, sender_id: str,
                     channel: str) -> dict | None:
    """Send a voice message to the voice gateway's HTTP upload, which runs the turn.

    Contract (docs/voice-protocol.md §3): POST {VOICE_URL}/api/utterance with the raw
    audio as body and sender/channel/audio=0 in the query; the gateway transcribes,
    sends the text to Rasa as `sender` and answers {"transcript", "replies": [Rasa
    messages], ...}. So the bot must NOT be asked again with the transcript.
    Returns {"transcript": str, "replies": list} or None when the gateway is down
    or refuses the audio.
    """
    try:
        async with http().post(f"{voice_url.rstrip('/')}/api/utterance", data=audio,
                               params={"sender": sender_id, "channel": channel, "audio": "0"},
                               headers={"Content-Type": content_type or "application/octet-stream",
                                        "Authorization": f"Bearer {voice_channel_token()}"},
                               timeout=aiohttp.ClientTimeout(total=30)) as resp:
            if resp.status != 200:
                log.warning("voice gateway answered HTTP %s", resp.status)
                return None
            data = await resp.json(content_type=None)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
        log.warning("voice gateway unavailable: %s", type(exc).__name__)
        return None
    if not isinstance(data, dict):
        return None
    replies = data.get("replies") if isinstance(data.get("replies"), list) else []
    return {"transcript": str(data.get("transcript") or data.get("text") or "").strip(),
            "replies": [r for r in replies if isinstance(r, dict)]}


def numbered_options(buttons: list[dict]) -> tuple[str, dict[str, str]]:
    """Buttons -> "回复1：是的" lines for text-only channels, and {"1": payload}."""
    lines, mapping = [], {}
    for i, b in enumerate(buttons, 1):
        title = b.get("title") or b.get("payload") or ""
        lines.append(f"回复{i}：{title}")
        mapping[str(i)] = b.get("payload") or title
    return "\n".join(lines), mapping


def classify_custom(custom: dict) -> dict:
    """A Rasa custom message -> a channel-neutral reply item."""
    if not isinstance(custom, dict):
        return {"type": "custom", "data": custom}
    event = custom.get("event")
    if event == "handoff":
        return {"type": "handoff", "text": HANDOFF_NOTICE, "reason": custom.get("reason")}
    if event == "emergency":
        return {"type": "emergency", "number": custom.get("number")}
    if custom.get("card") == "guide" or event in ("guide", "matter_guide") or "matter" in custom:
        data = {k: v for k, v in custom.items() if k not in ("event", "card")}
        return {"type": "card", "card": "guide", **data}
    if "reference" in custom or custom.get("card") == "reference":
        data = {k: v for k, v in custom.items() if k not in ("event", "card")}
        return {"type": "card", "card": "reference", **data}
    return {"type": "custom", "data": custom}
