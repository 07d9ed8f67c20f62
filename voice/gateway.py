"""The voice gateway process: ``python -m voice.gateway``.

HTTP/WebSocket on VOICE_PORT (GET /health, GET /ws, POST /api/utterance,
POST/GET /calls/{id}, GET /calls/{id}/events) and Asterisk AudioSocket on
AUDIOSOCKET_PORT.  See docs/voice-protocol.md.

Safe on a network (voice/security.py has the details):

* ``/ws`` and ``/api/utterance`` need the client token ``VOICE_TOKEN`` (or the channel
  token); ``/calls/*`` (dialplan / AGI) needs the channel token ``VOICE_CHANNEL_TOKEN``.
  When unset both are derived from the project's secret key
  (``common.privacy.derive_key("voice-token" | "voice-channel-token").hex()``), so
  ``make run`` needs no hand steps; ``python -m voice.security`` prints them.
  ``/health`` is open.  AudioSocket serves only peers in ``VOICE_AUDIOSOCKET_ALLOW``
  (default loopback).
* At most ``VOICE_MAX_CALLS`` (20) concurrent calls over all transports.
* HTTP: a request head must arrive within ``VOICE_HEADER_TIMEOUT_S`` (10 s) of the
  connection, idle keep-alive connections close after ``VOICE_KEEPALIVE_S`` (15 s), an
  upload body must arrive within ``VOICE_READ_TIMEOUT_S`` (30 s); request lines and
  headers are capped by aiohttp (8 KiB each), JSON bodies by ``client_max_size``.
"""
from __future__ import annotations

import asyncio
import logging
import re
import signal

from aiohttp import web

from common import privacy
from common.privacy import install_log_masking
from voice import security
from voice.config import VoiceConfig
from voice.services import Services
from voice.transports.audiosocket import AudioSocketServer
from voice.transports.http_upload import utterance_handler
from voice.transports.websocket import websocket_handler

log = logging.getLogger("voice.gateway")
_PHONE_RE = re.compile(r"^\+?[0-9]{3,20}$")


@web.middleware
async def channel_only(request: web.Request, handler):
    """/calls/* is for the PBX dialplan and the channels: the channel token, nothing less."""
    if request.path.startswith("/calls/"):
        principal = request.app["auth"].authenticate(request)
        if principal is None:
            return security.unauthorized()
        if not principal.is_channel:
            return security.forbidden()
        if not security.valid_call_id(request.match_info.get("call_id", "")):
            return web.json_response({"error": "bad_call_id", "message": "通话编号格式不对（最多 64 个字母、数字或横线）。"},
                                     status=400)
    return await handler(request)


async def health(request: web.Request) -> web.Response:
    services: Services = request.app["services"]
    return web.json_response({"status": "ok", "asr_ready": services.ready.is_set(),
                              "asr_engine": services.config.asr_engine,
                              "active_calls": request.app["calls"].active})


async def set_caller(request: web.Request) -> web.Response:
    """Dialplan/AGI: POST /calls/{uuid} {"caller": "13800138000"} before or during the call."""
    services: Services = request.app["services"]
    call_id = request.match_info["call_id"].lower()
    try:
        body = await request.json()
    except (ValueError, RecursionError, UnicodeDecodeError):
        return web.json_response({"error": "bad_json", "message": "请求体应为 JSON：{\"caller\": \"电话号码\"}。"},
                                 status=400)
    caller = str((body or {}).get("caller", "")).strip() if isinstance(body, dict) else ""
    if not _PHONE_RE.match(caller):
        return web.json_response({"error": "bad_caller", "message": "caller 必须是电话号码。"}, status=400)
    services.registry.set_caller(call_id, caller)
    return web.json_response({"call_id": call_id, "caller_known": True})


async def get_call(request: web.Request) -> web.Response:
    services: Services = request.app["services"]
    call_id = request.match_info["call_id"].lower()
    rec = services.registry.get(call_id)
    if rec is None:
        stored = await services.registry.load(call_id)
        if stored is None:
            return web.json_response({"error": "not_found", "call_id": call_id, "handoff": False}, status=404)
        return web.json_response(stored)
    return web.json_response(rec.summary(with_events=False))


async def get_events(request: web.Request) -> web.Response:
    services: Services = request.app["services"]
    rec = services.registry.get(request.match_info["call_id"].lower())
    if rec is None:
        return web.json_response({"error": "not_found"}, status=404)
    return web.json_response(rec.summary(with_events=True))


def make_app(services: Services, auth: security.Authenticator | None = None,
             limiter: security.CallLimiter | None = None) -> web.Application:
    privacy.load_secret()  # sender keys derive from it; not read from disk inside a call
    app = web.Application(client_max_size=services.config.max_upload_bytes + 256 * 1024,
                          middlewares=[channel_only])
    app["services"] = services
    app["auth"] = auth or security.Authenticator.from_config(services.config)
    app["calls"] = limiter or security.CallLimiter(services.config.max_calls)
    app.router.add_get("/health", health)
    app.router.add_get("/ws", websocket_handler)
    app.router.add_post("/api/utterance", utterance_handler)
    app.router.add_post("/calls/{call_id}", set_caller)
    app.router.add_get("/calls/{call_id}", get_call)
    app.router.add_get("/calls/{call_id}/events", get_events)
    return app


def _close_if_no_request(handler) -> None:
    """Header timeout: the connection has not delivered one complete request head yet."""
    if getattr(handler, "_request_count", 1) == 0 and handler.transport is not None:
        transport = handler.transport
        handler.force_close()
        transport.close()


class GuardedTCPSite(web.BaseSite):
    """aiohttp TCP site with a request-head timeout (aiohttp has none: slowloris).

    Later requests on a keep-alive connection are covered by aiohttp's keepalive_timeout
    (an idle connection, or one with a half-sent head, is closed after it).
    """

    def __init__(self, runner: web.BaseRunner, host: str, port: int, head_timeout: float,
                 backlog: int = 128):
        super().__init__(runner, backlog=backlog)
        self._host, self._port, self._head_timeout = host, port, head_timeout

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        server = self._runner.server

        def protocol():
            handler = server()
            loop.call_later(self._head_timeout, _close_if_no_request, handler)
            return handler

        self._server = await loop.create_server(protocol, self._host, self._port, backlog=self._backlog,
                                                reuse_address=True)


async def start_http(app: web.Application, config: VoiceConfig, port: int | None = None
                     ) -> tuple[web.AppRunner, GuardedTCPSite]:
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=config.keepalive_s,
                           max_line_size=8190, max_field_size=8190, lingering_time=2.0)
    await runner.setup()
    site = GuardedTCPSite(runner, config.host, config.voice_port if port is None else port,
                          head_timeout=config.header_timeout_s)
    return runner, site


async def serve(config: VoiceConfig | None = None) -> None:
    config = config or VoiceConfig()
    services = Services(config)
    app = make_app(services)
    audiosocket = AudioSocketServer(services, config.host, config.audiosocket_port, limiter=app["calls"])
    app["audiosocket"] = audiosocket
    runner, site = await start_http(app, config)
    await services.start()  # model loaded before /health says 200
    await audiosocket.start()
    await site.start()
    log.info("voice gateway on :%d (AudioSocket :%d, ASR %s)", config.voice_port,
             config.audiosocket_port, config.asr_engine)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await audiosocket.stop()
    await runner.cleanup()
    await services.close()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    install_log_masking()
    asyncio.run(serve())


if __name__ == "__main__":
    main()
