"""WeChat Official Account (公众号) server as a Rasa input channel.

Endpoints (Rasa mounts the blueprint under /webhooks/wechat):
  GET  /webhooks/wechat/          health
  GET  /webhooks/wechat/webhook   URL verification (signature + echostr; encrypted echostr with msg_signature)
  POST /webhooks/wechat/webhook   messages and events, plain or AES (encrypt_type=aes)

Protocol notes are in docs/wechat.md. In short: every request is authenticated
(signature; in safe mode also msg_signature + appid inside the ciphertext),
timestamps outside a window are refused, XML is parsed without DTDs, WeChat's
retries are de-duplicated in Redis, and the answer is given passively within the
budget (default 4.5 s of WeChat's 5 s) or, when the bot is slower, "success" is
returned and the answer follows through the customer-service message API.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from common.settings import env_str
from connectors import config as cfgmod
from connectors import dedup
from connectors.shared import (BodyTooLarge, VOICE_DOWN_TEXT, VOICE_EMPTY_TEXT, classify_custom, mask_openid,
                               numbered_options, pseudonym, read_body, voice_turn)
from connectors.wechat_api import WeChatAPI, WeChatAPIError
from connectors.wechat_crypto import (CryptoError, UnsafeXMLError, WeChatCrypto, check_signature, parse_xml,
                                      reply_xml)

log = logging.getLogger(__name__)

GREETING_FALLBACK = "您好，欢迎关注！我是政务服务智能助手，能告诉您办事带什么、去哪办，也能帮您登记、查进度。您想办什么事？"
IMAGE_TEXT = "图片我暂时还看不懂。请用文字说说您要办什么事。\n需要人工帮忙请回复1：转人工"
UNSUPPORTED_TEXT = "这类消息我暂时还处理不了。请用文字说说您要办什么事。\n需要人工帮忙请回复1：转人工"
HANDOFF_PAYLOAD = "/request_human"
DEFAULT_MENU = {
    "GUIDE": "我想查办事指南",
    "PROGRESS": "查办理进度",
    "HUMAN": HANDOFF_PAYLOAD,
}
PASSIVE_TEXT_LIMIT = 2000          # bytes; WeChat truncates passive text beyond 2048 bytes
OPTIONS_TTL_S = 24 * 3600
FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


@dataclass
class Outcome:
    texts: list[str] = field(default_factory=list)
    handoff: bool = False


def menu_map() -> dict[str, str]:
    raw = env_str("WECHAT_MENU_MAP")
    if not raw:
        return DEFAULT_MENU
    try:
        data = json.loads(raw)
        return {str(k): str(v) for k, v in data.items()}
    except (ValueError, AttributeError):
        log.warning("WECHAT_MENU_MAP is not a JSON object; using the default menu")
        return DEFAULT_MENU


class WeChatOfficialInput(InputChannel):
    """Rasa input channel speaking the Official Account message protocol."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: dict | None) -> "WeChatOfficialInput":
        # Configuration is read from the environment per request (connectors.config).
        return cls()

    # ------------------------------------------------------------------ HTTP
    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        bp = Blueprint("wechat_official_webhook", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok", "configured": cfgmod.official().configured})

        @bp.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            return await self._verify(request)

        @bp.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            return await self._receive(request, on_new_message)

        return bp

    @staticmethod
    def _fresh(timestamp: str, cfg: cfgmod.OfficialConfig) -> bool:
        try:
            return abs(time.time() - int(timestamp)) <= cfg.max_skew_s
        except (TypeError, ValueError):
            return False

    async def _verify(self, request: Request) -> HTTPResponse:
        cfg = cfgmod.official()
        if not cfg.configured:
            return response.text("wechat channel not configured", status=503)
        args = request.args
        ts, nonce, echostr = args.get("timestamp", ""), args.get("nonce", ""), args.get("echostr", "")
        if not (ts and nonce and echostr):
            return response.text("missing parameters", status=400)
        if not self._fresh(ts, cfg):
            return response.text("stale or invalid timestamp", status=403)
        msg_sig = args.get("msg_signature")
        if msg_sig:  # encrypted echostr (safe-mode style verification)
            if len(cfg.encoding_aes_key) != 43:
                return response.text("safe mode not configured", status=403)
            if not check_signature(msg_sig, cfg.token, ts, nonce, echostr):
                return response.text("invalid msg_signature", status=403)
            try:
                plain = WeChatCrypto(cfg.token, cfg.encoding_aes_key, cfg.appid).decrypt(echostr)
            except CryptoError:
                return response.text("echostr cannot be decrypted", status=403)
            return response.text(plain)
        if not check_signature(args.get("signature", ""), cfg.token, ts, nonce):
            return response.text("invalid signature", status=403)
        return response.text(echostr)

    async def _receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        started = time.monotonic()
        cfg = cfgmod.official()
        if not cfg.configured:
            return response.text("wechat channel not configured", status=503)
        try:
            body = await read_body(request, cfg.max_body)
        except BodyTooLarge:
            return response.text("request body too large", status=413)

        args = request.args
        ts, nonce = args.get("timestamp", ""), args.get("nonce", "")
        if not (ts and nonce):
            return response.text("missing parameters", status=400)
        if not self._fresh(ts, cfg):
            return response.text("stale or invalid timestamp", status=403)
        signature = args.get("signature")
        encrypted = args.get("encrypt_type", "raw").lower() == "aes"
        if signature is not None and not check_signature(signature, cfg.token, ts, nonce):
            return response.text("invalid signature", status=403)

        crypto = None
        try:
            outer = parse_xml(body)
        except UnsafeXMLError:
            return response.text("malformed or unsafe XML", status=400)
        if encrypted:
            if cfg.mode not in ("compatible", "safe"):
                return response.text("encrypted messages not enabled", status=403)
            crypto = WeChatCrypto(cfg.token, cfg.encoding_aes_key, cfg.appid)
            enc = outer.get("Encrypt")
            if not isinstance(enc, str) or not enc:
                return response.text("Encrypt missing", status=400)
            if not check_signature(args.get("msg_signature", ""), cfg.token, ts, nonce, enc):
                return response.text("invalid msg_signature", status=403)
            try:
                inner = crypto.decrypt(enc)
            except CryptoError as exc:
                log.warning("wechat: undecryptable message (%s)", exc)
                return response.text("message cannot be decrypted", status=403)
            try:
                msg = parse_xml(inner.encode("utf-8"))
            except UnsafeXMLError:
                return response.text("malformed or unsafe XML", status=400)
        else:
            if cfg.mode == "safe":
                return response.text("plaintext messages are refused in safe mode", status=403)
            if signature is None:
                return response.text("missing signature", status=403)
            msg = outer

        openid = msg.get("FromUserName")
        account = msg.get("ToUserName")
        msg_type = msg.get("MsgType")
        if not (isinstance(openid, str) and openid and isinstance(account, str) and isinstance(msg_type, str)):
            return response.text("incomplete message", status=400)

        def finish(plain_reply: str | None) -> HTTPResponse:
            if plain_reply is None:
                return response.text("success")
            if crypto is not None:
                return response.text(crypto.encrypted_reply(plain_reply, nonce=nonce),
                                     content_type="application/xml; charset=utf-8")
            return response.text(plain_reply, content_type="application/xml; charset=utf-8")

        msg_id = msg.get("MsgId") or msg.get("MsgID")
        ident = f"m:{msg_id}" if msg_id else f"e:{openid}:{msg.get('CreateTime', '')}:{msg.get('Event', '')}"
        dd = dedup.Deduplicator(f"oa:{cfg.appid}", cfg.dedup_ttl_s)
        budget = max(0.0, cfg.passive_budget_s - (time.monotonic() - started))
        if not await dd.claim(ident):
            # A retry of a message already being handled: answer the same, never process twice.
            state = await dd.wait_done(ident, budget)
            log.info("wechat: duplicate delivery (%s) from %s", "MsgId" if msg_id else "event", mask_openid(openid))
            return finish((state or {}).get("reply"))

        sender_id = pseudonym("wx", openid)
        api = WeChatAPI(cfg.appid, cfg.secret, cfg.api_base)
        task = asyncio.create_task(self._handle(msg, sender_id, api, cfg, on_new_message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        budget = max(0.0, cfg.passive_budget_s - (time.monotonic() - started))
        try:
            outcome = await asyncio.wait_for(asyncio.shield(task), timeout=budget)
        except asyncio.TimeoutError:
            await dd.finish(ident, None)
            later = asyncio.create_task(self._deliver_later(task, openid, sender_id, api))
            self._tasks.add(later)
            later.add_done_callback(self._tasks.discard)
            log.info("wechat: bot slower than %.1fs for %s; answering via customer-service API",
                     cfg.passive_budget_s, sender_id)
            return response.text("success")
        except Exception:  # noqa: BLE001 - the bot failed: don't let WeChat retry into it
            log.exception("wechat: handling failed for %s", sender_id)
            await dd.finish(ident, None)
            return response.text("success")

        plain = await self._passive(outcome, openid, account, sender_id, api)
        await dd.finish(ident, plain)
        return finish(plain)

    # ------------------------------------------------------------ replies
    async def _passive(self, outcome: Outcome, openid: str, account: str, sender_id: str,
                       api: WeChatAPI) -> str | None:
        """The passive reply XML (plaintext) for an outcome; extra texts go via the CS API."""
        if outcome.handoff:
            # Human customer service takes over; the bot's hand-off text is sent as a CS message.
            self._background(api.send_texts(openid, sender_id, outcome.texts))
            return reply_xml(openid, account, "transfer_customer_service")
        if not outcome.texts:
            return None
        first, rest = _fit_passive(outcome.texts)
        if rest:
            self._background(api.send_texts(openid, sender_id, rest))
        return reply_xml(openid, account, "text", first)

    def _background(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_later(self, task: asyncio.Task, openid: str, sender_id: str, api: WeChatAPI) -> None:
        try:
            outcome: Outcome = await task
        except Exception:  # noqa: BLE001
            log.exception("wechat: slow handling failed for %s", sender_id)
            return
        if outcome.handoff:
            # transfer_customer_service exists only as a passive reply: the next message
            # from this user is transferred (see _handle).
            await dedup.client().set(f"{dedup.PREFIX}:handoff:{sender_id}", "1", ex=OPTIONS_TTL_S)
        if outcome.texts:
            await api.send_texts(openid, sender_id, outcome.texts)

    # ------------------------------------------------------------ messages
    async def _handle(self, msg: dict, sender_id: str, api: WeChatAPI, cfg: cfgmod.OfficialConfig,
                      on_new_message: OnNewMessage) -> Outcome:
        msg_type = msg.get("MsgType")
        r = dedup.client()
        if msg_type != "event" and await r.delete(f"{dedup.PREFIX}:handoff:{sender_id}"):
            return Outcome(handoff=True)
        if msg_type == "text":
            text = str(msg.get("Content") or "").strip()
            return await self._to_bot(await self._resolve_option(sender_id, text), sender_id, on_new_message)
        if msg_type == "voice":
            text = str(msg.get("Recognition") or "").strip()
            if text:  # WeChat's own speech recognition (语音识别 enabled)
                return await self._to_bot(text, sender_id, on_new_message)
            turn = await self._voice_turn(msg, sender_id, api, cfg)
            if turn is None:
                return Outcome([VOICE_DOWN_TEXT])
            if not turn["transcript"] and not turn["replies"]:
                return Outcome([VOICE_EMPTY_TEXT])
            return await self._shape(turn["replies"], sender_id)
        if msg_type == "image":
            await self._save_options(sender_id, {"1": HANDOFF_PAYLOAD})
            return Outcome([IMAGE_TEXT])
        if msg_type == "event":
            return await self._event(msg, sender_id, on_new_message)
        await self._save_options(sender_id, {"1": HANDOFF_PAYLOAD})
        return Outcome([UNSUPPORTED_TEXT])

    async def _event(self, msg: dict, sender_id: str, on_new_message: OnNewMessage) -> Outcome:
        event = str(msg.get("Event") or "").lower()
        if event == "subscribe":
            outcome = await self._to_bot("/call_start", sender_id, on_new_message)
            return outcome if outcome.texts else Outcome([GREETING_FALLBACK])
        if event == "click":
            mapped = menu_map().get(str(msg.get("EventKey") or ""))
            if not mapped:
                return Outcome()
            return await self._to_bot(mapped, sender_id, on_new_message)
        # unsubscribe, VIEW, SCAN, LOCATION, TEMPLATESENDJOBFINISH, ...: nothing to say.
        return Outcome()

    async def _voice_turn(self, msg: dict, sender_id: str, api: WeChatAPI,
                          cfg: cfgmod.OfficialConfig) -> dict | None:
        """Download the voice media and let the voice gateway run the turn."""
        media_id = msg.get("MediaId")
        if not media_id:
            return {"transcript": "", "replies": []}
        try:
            audio, ctype = await api.get_media(str(media_id))
        except (WeChatAPIError, OSError, asyncio.TimeoutError) as exc:
            log.warning("wechat: voice media download failed (%s)", type(exc).__name__)
            return None
        if not ctype or "octet-stream" in ctype:
            fmt = str(msg.get("Format") or "amr").lower()
            ctype = {"amr": "audio/amr", "speex": "audio/speex", "wav": "audio/wav", "mp3": "audio/mpeg"}.get(
                fmt, "application/octet-stream")
        return await voice_turn(cfg.voice_url, audio, ctype, sender_id, "wechat")

    async def _resolve_option(self, sender_id: str, text: str) -> str:
        """"1" after "回复1：…" options -> that option's payload."""
        key = text.translate(FULLWIDTH_DIGITS)
        if not re.fullmatch(r"[0-9]{1,2}", key):
            return text
        raw = await dedup.client().get(f"{dedup.PREFIX}:options:{sender_id}")
        if not raw:
            return text
        return json.loads(raw).get(key, text)

    async def _save_options(self, sender_id: str, mapping: dict[str, str]) -> None:
        key = f"{dedup.PREFIX}:options:{sender_id}"
        if mapping:
            await dedup.client().set(key, json.dumps(mapping, ensure_ascii=False), ex=OPTIONS_TTL_S)
        else:
            await dedup.client().delete(key)

    async def _to_bot(self, text: str, sender_id: str, on_new_message: OnNewMessage) -> Outcome:
        if not text:
            return Outcome()
        collector = CollectingOutputChannel()
        await on_new_message(UserMessage(
            text, collector, sender_id, input_channel=self.name(),
            metadata={"channel": "wechat", "caller": None, "speech_rate": "normal"}))
        return await self._shape(collector.messages, sender_id)

    async def _shape(self, messages: list[dict], sender_id: str) -> Outcome:
        """Rasa bot messages -> texts for WeChat (buttons numbered) + the hand-off flag."""
        outcome = Outcome()
        options: dict[str, str] = {}
        for m in messages:
            text_part = m.get("text") or ""
            if m.get("buttons"):
                listing, mapping = numbered_options(m["buttons"])
                options = mapping
                text_part = f"{text_part}\n{listing}" if text_part else listing
            if m.get("image"):
                text_part = f"{text_part}\n{m['image']}" if text_part else m["image"]
            if text_part:
                outcome.texts.append(text_part)
            if m.get("custom") is not None:
                item = classify_custom(m["custom"])
                if item["type"] == "handoff":
                    outcome.handoff = True
        await self._save_options(sender_id, options)
        return outcome


def _fit_passive(texts: list[str]) -> tuple[str, list[str]]:
    """Join bot texts into one passive reply; what does not fit is sent afterwards."""
    first = ""
    for i, t in enumerate(texts):
        candidate = f"{first}\n\n{t}" if first else t
        if len(candidate.encode("utf-8")) > PASSIVE_TEXT_LIMIT:
            if not first:  # a single very long text: cut it
                cut = t
                while len(cut.encode("utf-8")) > PASSIVE_TEXT_LIMIT:
                    cut = cut[: len(cut) * 9 // 10]
                return cut, [t[len(cut):]] + texts[i + 1:]
            return first, texts[i:]
        first = candidate
    return first, []
