"""WeChat mini-program chat as a Rasa input channel.

Endpoints (Rasa mounts the blueprint under /webhooks/miniprogram):
  GET  /            health
  POST /login       {"code": wx.login() code} -> jscode2session -> {"session", "expires_in", "replies"}
  POST /message     {"session", "text", "id"?} -> {"replies": [...]}
  POST /voice       raw audio body, header Authorization: Bearer <session> -> {"text", "replies"}
  WS   /ws          first frame {"type":"auth","session":…}; then {"type":"message","text":…,"id":…};
                    {"type":"typing","in_reply_to":id} says it was received (a client resends, with the
                    same id, a message that got none; it runs once); the client acknowledges each
                    reply with {"type":"ack","in_reply_to":…}

The session token is opaque to the client: "<sid>.<expiry>.<HMAC-SHA256>" whose
sid maps, in Redis, to the conversation's pseudonymous sender id (an HMAC of the
openid; neither the openid nor the session_key is stored). The tracker is keyed
by that sender id, so a reconnect, a new WebSocket or a new login continues the
same conversation. Every WebSocket reply is kept per session in Redis (list
govdesk:wx:mp:outbox:<sid>, raw reply frames, bounded, with a TTL) until the client
acknowledges it, and the ones not acknowledged are sent again ("buffered": true) when
the session reconnects: a send that "succeeded" into a socket whose peer had already
dropped is not lost. The client drops a reply whose in_reply_to it has already shown.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import secrets
import time
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from common.privacy import derive_key
from connectors import config as cfgmod
from connectors import dedup
from connectors.shared import (BodyTooLarge, VOICE_DOWN_TEXT, VOICE_EMPTY_TEXT, classify_custom, pseudonym,
                               read_body, voice_turn)
from connectors.wechat_api import WeChatAPIError, jscode2session

log = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
WS_AUTH_TIMEOUT_S = 10.0
# a send to a socket whose peer vanished must not hold the session's turn lock
WS_SEND_TIMEOUT_S = 5.0
# replies kept for a client that never acknowledges (an old client) stay bounded
OUTBOX_MAX = 50
MAX_TEXT_CHARS = 1000
MAX_VOICE_BYTES = 2 * 1024 * 1024
METADATA = {"channel": "miniprogram", "caller": None, "speech_rate": "normal"}


def _session_key() -> bytes:
    return derive_key("miniprogram-session")


def _sign(payload: str) -> str:
    mac = hmac.new(_session_key(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def make_token(sid: str, expires_at: int) -> str:
    payload = f"{sid}.{expires_at}"
    return f"{payload}.{_sign(payload)}"


def parse_token(token: str) -> str | None:
    """The session id if the token is authentic and unexpired, else None."""
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 200:
        return None
    sid, exp, mac = token.split(".")
    if not hmac.compare_digest(_sign(f"{sid}.{exp}"), mac):
        return None
    try:
        if int(exp) < time.time():
            return None
    except ValueError:
        return None
    return sid


def shape_replies(messages: list[dict]) -> list[dict]:
    """Rasa bot messages -> mini-program reply items (text + quick replies, cards, handoff)."""
    out: list[dict] = []
    for m in messages:
        if m.get("text") or m.get("buttons"):
            item: dict = {"type": "text", "text": m.get("text") or ""}
            if m.get("buttons"):
                item["quick_replies"] = [{"title": b.get("title", ""), "payload": b.get("payload", "")}
                                         for b in m["buttons"]]
            out.append(item)
        if m.get("image"):
            out.append({"type": "image", "url": m["image"]})
        if m.get("custom") is not None:
            out.append(classify_custom(m["custom"]))
    return out


class WebsocketGone(Exception):
    pass


async def ws_recv(ws, timeout: float | None = None):
    """Sanic 21.12's WebsocketImplProtocol.recv() passes a bare coroutine to
    asyncio.wait(), which Python 3.11 refuses (TypeError). Same logic, with the
    coroutine wrapped in a task: the next message, None on timeout, WebsocketGone
    when the connection closes."""
    from websockets.connection import CLOSED

    if ws.connection.state is CLOSED:
        raise WebsocketGone()
    async with ws.recv_lock:
        loop = asyncio.get_running_loop()
        ws.recv_cancel = loop.create_future()
        getter = asyncio.ensure_future(ws.assembler.get(timeout))
        try:
            done, _ = await asyncio.wait((ws.recv_cancel, getter), return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                raise WebsocketGone()
            return getter.result()
        finally:
            if not ws.recv_cancel.done():
                ws.recv_cancel.cancel()
            ws.recv_cancel = None


class MiniProgramInput(InputChannel):
    def __init__(self) -> None:
        self._live: dict[str, Any] = {}          # sid -> the session's current websocket
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task] = set()

    @classmethod
    def name(cls) -> str:
        return "miniprogram"

    @classmethod
    def from_credentials(cls, credentials: dict | None) -> "MiniProgramInput":
        return cls()

    # ------------------------------------------------------------ sessions
    @staticmethod
    def _skey(sid: str) -> str:
        return f"{dedup.PREFIX}:mp:session:{sid}"

    @staticmethod
    def _outbox(sid: str) -> str:
        return f"{dedup.PREFIX}:mp:outbox:{sid}"

    async def _session(self, token: str | None) -> tuple[str, str] | None:
        sid = parse_token(token or "")
        if sid is None:
            return None
        sender = await dedup.client().get(self._skey(sid))
        return (sid, sender) if sender else None

    @staticmethod
    def _bearer(request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        return auth[7:].strip() if auth.lower().startswith("bearer ") else None

    async def _ask_bot(self, on_new_message: OnNewMessage, text: str, sender: str) -> list[dict]:
        collector = CollectingOutputChannel()
        await on_new_message(UserMessage(text, collector, sender, input_channel=self.name(),
                                         metadata=dict(METADATA)))
        return shape_replies(collector.messages)

    # ------------------------------------------------------------ HTTP
    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        bp = Blueprint("miniprogram_webhook", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_request: Request) -> HTTPResponse:
            return response.json({"status": "ok", "configured": cfgmod.mini().configured})

        @bp.route("/login", methods=["POST"], stream=True)
        async def login(request: Request) -> HTTPResponse:
            cfg = cfgmod.mini()
            if not cfg.configured:
                return response.json({"error": "not_configured"}, status=503)
            data = await self._json_body(request, cfg.max_body)
            if isinstance(data, HTTPResponse):
                return data
            code = data.get("code")
            if not isinstance(code, str) or not code or len(code) > 128:
                return response.json({"error": "code_required"}, status=400)
            try:
                result = await jscode2session(cfg.api_base, cfg.appid, cfg.secret, code)
            except WeChatAPIError as exc:
                # 40029 invalid code, 40163 code already used, 45011 rate limited ...
                log.info("miniprogram login refused by WeChat (errcode %s)", exc.errcode)
                return response.json({"error": "login_failed", "errcode": exc.errcode}, status=401)
            except (OSError, asyncio.TimeoutError):
                return response.json({"error": "wechat_unreachable"}, status=502)
            sender = pseudonym("wxmp", result["openid"])
            sid = secrets.token_urlsafe(18)
            expires_at = int(time.time()) + cfg.session_ttl_s
            await dedup.client().set(self._skey(sid), sender, ex=cfg.session_ttl_s)
            replies = await self._ask_bot(on_new_message, "/call_start", sender)
            return response.json({"session": make_token(sid, expires_at), "expires_in": cfg.session_ttl_s,
                                  "replies": replies})

        @bp.route("/message", methods=["POST"], stream=True)
        async def message(request: Request) -> HTTPResponse:
            cfg = cfgmod.mini()
            data = await self._json_body(request, cfg.max_body)
            if isinstance(data, HTTPResponse):
                return data
            session = await self._session(data.get("session") or self._bearer(request))
            if session is None:
                return response.json({"error": "invalid_session"}, status=401)
            sid, sender = session
            text = data.get("text")
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_CHARS:
                return response.json({"error": "text_required"}, status=400)
            msg_id = data.get("id")
            if isinstance(msg_id, str) and msg_id:
                dd = dedup.Deduplicator(f"mp:{sid}", 3600)
                if not await dd.claim(msg_id[:64]):
                    st = await dd.wait_done(msg_id[:64], 30)
                    return response.json({"replies": json.loads((st or {}).get("reply") or "[]"),
                                          "duplicate": True})
                replies = await self._serial(sid, on_new_message, text.strip(), sender)
                await dd.finish(msg_id[:64], json.dumps(replies, ensure_ascii=False))
            else:
                replies = await self._serial(sid, on_new_message, text.strip(), sender)
            return response.json({"replies": replies})

        @bp.route("/voice", methods=["POST"], stream=True)
        async def voice(request: Request) -> HTTPResponse:
            cfg = cfgmod.mini()
            session = await self._session(self._bearer(request))
            if session is None:
                return response.json({"error": "invalid_session"}, status=401)
            try:
                audio = await read_body(request, MAX_VOICE_BYTES)
            except BodyTooLarge:
                return response.json({"error": "body_too_large"}, status=413)
            if not audio:
                return response.json({"error": "audio_required"}, status=400)
            sid, sender = session
            lock = self._locks.setdefault(sid, asyncio.Lock())
            async with lock:  # the gateway runs the turn on this conversation
                turn = await voice_turn(cfg.voice_url, audio, request.headers.get("content-type", ""),
                                        sender, "miniprogram")
            if turn is None:
                return response.json({"text": None, "replies": [{"type": "text", "text": VOICE_DOWN_TEXT}]})
            if not turn["transcript"] and not turn["replies"]:
                return response.json({"text": "", "replies": [{"type": "text", "text": VOICE_EMPTY_TEXT}]})
            return response.json({"text": turn["transcript"], "replies": shape_replies(turn["replies"])})

        @bp.websocket("/ws")
        async def ws_chat(request: Request, ws) -> None:
            await self._websocket(request, ws, on_new_message)

        return bp

    async def _json_body(self, request: Request, limit: int) -> dict | HTTPResponse:
        try:
            body = await read_body(request, limit)
        except BodyTooLarge:
            return response.json({"error": "body_too_large"}, status=413)
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return response.json({"error": "invalid_json"}, status=400)
        if not isinstance(data, dict):
            return response.json({"error": "invalid_json"}, status=400)
        return data

    async def _serial(self, sid: str, on_new_message: OnNewMessage, text: str, sender: str) -> list[dict]:
        lock = self._locks.setdefault(sid, asyncio.Lock())
        async with lock:
            return await self._ask_bot(on_new_message, text, sender)

    # ------------------------------------------------------------ WebSocket
    @staticmethod
    async def _bounded(step) -> bool:
        """Await one socket step (a send, a close); False when the socket is gone or it would not
        finish. Sanic 21.12 raises CancelledError (a BaseException) when the peer's transport is
        closing, so a dropped line would otherwise cancel the turn; a real cancellation of this
        task still propagates."""
        try:
            await asyncio.wait_for(step, WS_SEND_TIMEOUT_S)
            return True
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            return False
        except Exception:  # noqa: BLE001 - closed/closing socket, or a step that would not finish
            return False

    async def _send(self, ws, text: str) -> bool:
        return await self._bounded(ws.send(text))

    async def _deliver(self, sid: str, payload: dict, keep: bool = False) -> None:
        """Send to the session's live socket. A reply (keep) is first kept in the outbox until the
        client acknowledges it; a typing frame is only worth sending live."""
        text = json.dumps(payload, ensure_ascii=False)
        if keep:
            r = dedup.client()
            key = self._outbox(sid)
            await r.rpush(key, text)
            await r.ltrim(key, -OUTBOX_MAX, -1)
            await r.expire(key, cfgmod.mini().outbox_ttl_s)
        ws = self._live.get(sid)
        if ws is not None and not await self._send(ws, text) and self._live.get(sid) is ws:
            self._live.pop(sid, None)

    async def _ack(self, sid: str, in_reply_to: Any) -> None:
        r = dedup.client()
        key = self._outbox(sid)
        for raw in await r.lrange(key, 0, -1):
            try:
                if json.loads(raw).get("in_reply_to") == in_reply_to:
                    await r.lrem(key, 1, raw)
                    return
            except ValueError:
                await r.lrem(key, 1, raw)   # not ours: never resend garbage

    async def _flush(self, sid: str, ws) -> None:
        """Send again every reply not acknowledged yet; they stay kept until acknowledged."""
        for raw in await dedup.client().lrange(self._outbox(sid), 0, -1):
            payload = json.loads(raw)
            payload["buffered"] = True
            if not await self._send(ws, json.dumps(payload, ensure_ascii=False)):
                raise ConnectionError("websocket gone while sending kept replies")

    async def _ws_turn(self, sid: str, sender: str, text: str, msg_id: Any, on_new_message: OnNewMessage) -> None:
        lock = self._locks.setdefault(sid, asyncio.Lock())
        async with lock:
            await self._deliver(sid, {"type": "typing", "in_reply_to": msg_id})
            try:
                replies = await self._ask_bot(on_new_message, text, sender)
            except Exception:  # noqa: BLE001
                log.exception("miniprogram: bot failed for %s", sender)
                replies = [{"type": "text", "text": "系统忙，请稍后再试。"}]
            await self._deliver(sid, {"type": "reply", "in_reply_to": msg_id, "replies": replies}, keep=True)

    async def _websocket(self, request: Request, ws, on_new_message: OnNewMessage) -> None:
        first = None
        try:
            first = await ws_recv(ws, timeout=WS_AUTH_TIMEOUT_S)
            data = json.loads(first) if first else {}
        except (ValueError, TypeError):
            data = {}
        session = None
        if isinstance(data, dict) and data.get("type") == "auth":
            session = await self._session(data.get("session"))
        else:
            log.info("miniprogram websocket: first frame is not an auth frame (%s)", type(first).__name__)
        if session is None:
            await ws.send(json.dumps({"type": "error", "error": "invalid_session"}))
            await ws.close(code=4401, reason="invalid session")
            return
        sid, sender = session
        previous = self._live.get(sid)
        self._live[sid] = ws
        if previous is not None and previous is not ws:
            # bounded: the old peer may be gone and never answer the closing handshake
            await self._bounded(previous.close(code=4000, reason="replaced by a newer connection"))
        try:
            await ws.send(json.dumps({"type": "ready"}))
            await self._flush(sid, ws)
            while True:
                raw = await ws_recv(ws)
                if raw is None:
                    continue
                if len(raw) > cfgmod.mini().max_body:
                    await ws.send(json.dumps({"type": "error", "error": "message_too_large"}))
                    continue
                try:
                    msg = json.loads(raw)
                except ValueError:
                    await ws.send(json.dumps({"type": "error", "error": "invalid_json"}))
                    continue
                if not isinstance(msg, dict):
                    continue
                if msg.get("type") == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                    continue
                if msg.get("type") == "ack":
                    await self._ack(sid, msg.get("in_reply_to"))
                    continue
                text = msg.get("text")
                if msg.get("type") != "message" or not isinstance(text, str) or not text.strip() \
                        or len(text) > MAX_TEXT_CHARS:
                    await ws.send(json.dumps({"type": "error", "error": "text_required"}))
                    continue
                msg_id = msg.get("id")
                if isinstance(msg_id, str) and msg_id and \
                        not await dedup.Deduplicator(f"mp:{sid}", 3600).claim(msg_id[:64]):
                    # a resend of a message already received: its reply is kept until acknowledged
                    await self._send(ws, json.dumps({"type": "typing", "in_reply_to": msg_id}))
                    continue
                # The turn runs outside this handler so a dropped socket doesn't lose the answer.
                task = asyncio.create_task(self._ws_turn(sid, sender, text.strip(), msg.get("id"), on_new_message))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        except Exception as exc:  # noqa: BLE001 - ConnectionClosed and friends end the loop
            log.debug("miniprogram websocket closed: %s", type(exc).__name__)
        finally:
            if self._live.get(sid) is ws:
                self._live.pop(sid, None)
