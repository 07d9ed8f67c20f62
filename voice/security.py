"""Who may use the voice gateway, and the limits that keep one client from hurting the others.

Tokens (HTTP upload, WebSocket and the call-record API)
-------------------------------------------------------
Two bearer tokens, compared in constant time (``hmac.compare_digest``):

* **client token** ``VOICE_TOKEN`` -- apps, browsers, test clients.  Required on
  ``POST /api/utterance`` (``Authorization: Bearer <token>``) and ``GET /ws``
  (the same header, or ``?token=<token>`` because browsers cannot set headers on a
  WebSocket).  A client never chooses whose conversation it writes into: the Rasa
  sender id is ``voice-<HMAC(derive_key("voice-sender"), client | session)>`` where
  ``session`` is the client's own session label (``session=``, or the legacy
  ``sender=``; a fresh random one when absent).  ``caller=`` and ``call_id=`` from a
  client are ignored: a client cannot claim a phone number or a phone call.
* **channel token** ``VOICE_CHANNEL_TOKEN`` -- trusted server-side parts of the
  product that authenticated the person themselves: the PBX dialplan (``POST/GET
  /calls/{id}``) and the WeChat / mini-program connectors (voice messages).  With it,
  ``sender=``, ``caller=`` and ``call_id=`` are taken as given (they come from the
  channel, not from the end user).  The channel token is also accepted wherever the
  client token is.

When a variable is unset (``make run``: no hand steps) the token is derived from the
project's secret key (``common.privacy.derive_key``)::

    VOICE_TOKEN         = derive_key("voice-token").hex()
    VOICE_CHANNEL_TOKEN = derive_key("voice-channel-token").hex()

so every process sharing the secret key (``GOVDESK_SECRET_KEY`` or the key file) can
compute them; ``python -m voice.security`` prints both.  Set the variables explicitly
when clients live outside the product.  Missing or wrong token -> **401** with a
Chinese JSON message (``{"error": "unauthorized", "message": ...}``); a client token
on a channel-only route -> **403**.  ``GET /health`` stays open (it exposes no data).

AudioSocket peers
-----------------
AudioSocket has no credentials; only peers in ``VOICE_AUDIOSOCKET_ALLOW`` (comma
separated addresses or CIDR networks; default ``127.0.0.0/8,::1`` -- loopback only;
``*`` allows everyone) may connect.  Anyone else is disconnected before a byte is read.

Concurrent calls
----------------
``CallLimiter``: at most ``VOICE_MAX_CALLS`` (20) calls at once over all transports
(an HTTP upload counts while it is processed).  Over the cap: HTTP **503** with
``Retry-After``, WebSocket close 1013 with a reason, AudioSocket a short busy prompt
and a hang-up.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
import uuid
from dataclasses import dataclass

from aiohttp import web

from common import settings
from common.privacy import derive_key, voice_channel_token, voice_token

log = logging.getLogger("voice.security")

CLIENT, CHANNEL = "client", "channel"
DEFAULT_AUDIOSOCKET_ALLOW = "127.0.0.0/8,::1"
RETRY_AFTER_S = 10

UNAUTHORIZED_TEXT = "未授权：请提供有效的访问令牌（请求头 Authorization: Bearer <令牌>）。"
FORBIDDEN_TEXT = "无权访问：这个接口只对电话交换机和渠道服务开放。"
BUSY_HTTP_TEXT = "线路繁忙，请稍后再试。"
BUSY_WS_REASON = "线路繁忙，请稍后再试"

_PHONE_RE = re.compile(r"^\+?[0-9]{3,20}$")
_CALL_ID_RE = re.compile(r"^[0-9A-Za-z-]{1,64}$")


# VOICE_TOKEN / VOICE_CHANNEL_TOKEN, else derived: one home, common.privacy (the connectors send the latter).
client_token, channel_token = voice_token, voice_channel_token


@dataclass(frozen=True)
class Principal:
    role: str          # CLIENT or CHANNEL
    name: str          # who, for the sender namespace

    @property
    def is_channel(self) -> bool:
        return self.role == CHANNEL


class Authenticator:
    def __init__(self, client: str | None = None, channel: str | None = None):
        self._client = (client or client_token()).encode()
        self._channel = (channel or channel_token()).encode()
        if self._client == self._channel:
            raise ValueError("VOICE_TOKEN and VOICE_CHANNEL_TOKEN must differ")

    @classmethod
    def from_config(cls, config) -> "Authenticator":
        return cls(config.token, config.channel_token)

    def check(self, presented: str | None) -> Principal | None:
        if not presented:
            return None
        got = presented.strip().encode("utf-8", "replace")
        # Both comparisons always run (constant time, no early exit on the first match).
        is_client = hmac.compare_digest(got, self._client)
        is_channel = hmac.compare_digest(got, self._channel)
        if is_channel:
            return Principal(CHANNEL, "channel")
        if is_client:
            return Principal(CLIENT, "client")
        return None

    def authenticate(self, request: web.Request, allow_query: bool = False) -> Principal | None:
        header = request.headers.get("Authorization", "")
        presented = None
        if header[:7].lower() == "bearer ":
            presented = header[7:]
        elif allow_query:
            presented = request.query.get("token")
        return self.check(presented)


def unauthorized() -> web.Response:
    return web.json_response({"error": "unauthorized", "message": UNAUTHORIZED_TEXT}, status=401,
                             headers={"WWW-Authenticate": 'Bearer realm="voice"'})


def forbidden() -> web.Response:
    return web.json_response({"error": "forbidden", "message": FORBIDDEN_TEXT}, status=403)


def busy() -> web.Response:
    return web.json_response({"error": "busy", "message": BUSY_HTTP_TEXT}, status=503,
                             headers={"Retry-After": str(RETRY_AFTER_S)})


def _sender_key() -> bytes:
    return derive_key("voice-sender")


def client_sender(principal: Principal, session: str | None) -> str:
    """Rasa sender id for a client's own session: keyed hash, never the client's string."""
    label = (session or uuid.uuid4().hex)[:256]
    digest = hmac.new(_sender_key(), f"{principal.name}\x00{label}".encode("utf-8", "replace"),
                      hashlib.sha256).hexdigest()
    return f"voice-{digest[:24]}"


@dataclass
class Identity:
    """What a transport may use for one call, decided from the principal, never from the client alone."""
    call_id: str
    sender: str | None      # None: CallSession's default (caller_key(caller) or voice-<call id>)
    caller: str | None
    channel: str


def resolve_identity(principal: Principal, params, registry=None, call_id_prefix: str = "",
                     default_channel: str = "voice") -> Identity:
    channel = params.get("channel") or default_channel
    if channel not in settings.CHANNELS:
        channel = default_channel
    if principal.is_channel:
        call_id = params.get("call_id") or ""
        call_id = call_id.lower() if _CALL_ID_RE.match(call_id) else f"{call_id_prefix}{uuid.uuid4().hex}"
        caller = (params.get("caller") or "").strip()
        if not _PHONE_RE.match(caller):
            caller = (registry.caller_for(call_id) if registry is not None else None) or ""
        sender = (params.get("sender") or "").strip()[:128] or None
        return Identity(call_id, sender, caller or None, channel)
    call_id = f"{call_id_prefix}{uuid.uuid4().hex}"
    session = params.get("session") or params.get("sender") or call_id
    return Identity(call_id, client_sender(principal, session), None, channel)


def valid_call_id(call_id: str) -> bool:
    return bool(_CALL_ID_RE.match(call_id))


def valid_phone(caller: str) -> bool:
    return bool(_PHONE_RE.match(caller))


# ---------------------------------------------------------------- AudioSocket peers
def parse_allow(spec: str | None) -> list | None:
    """Networks from VOICE_AUDIOSOCKET_ALLOW; None means everyone ("*")."""
    spec = DEFAULT_AUDIOSOCKET_ALLOW if spec is None or not spec.strip() else spec
    nets = []
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        if item in ("*", "any"):
            return None
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            log.warning("VOICE_AUDIOSOCKET_ALLOW: %r is not an address or network; ignored", item)
    return nets


def peer_allowed(peername, nets: list | None) -> bool:
    if nets is None:
        return True
    try:
        host = peername[0] if isinstance(peername, (tuple, list)) else peername
        addr = ipaddress.ip_address(str(host).split("%", 1)[0])
    except (ValueError, TypeError, IndexError):
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return any(addr.version == net.version and addr in net for net in nets)


# ---------------------------------------------------------------- concurrent calls
class CallLimiter:
    """At most `limit` calls at once over every transport."""

    def __init__(self, limit: int):
        self.limit = max(1, int(limit))
        self.active = 0
        self.rejected = 0

    def try_acquire(self) -> bool:
        if self.active >= self.limit:
            self.rejected += 1
            return False
        self.active += 1
        return True

    def release(self) -> None:
        self.active = max(0, self.active - 1)


if __name__ == "__main__":  # python -m voice.security -> the tokens in effect for this environment
    print(f"VOICE_TOKEN={client_token()}")
    print(f"VOICE_CHANNEL_TOKEN={channel_token()}")
