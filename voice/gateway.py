"""The voice gateway process: ``python -m voice.gateway``.

HTTP/WebSocket on VOICE_PORT (GET /health, GET /ws, POST /api/utterance,
POST/GET /calls/{id}, GET /calls/{id}/events) and Asterisk AudioSocket on
AUDIOSOCKET_PORT.  See docs/voice-protocol.md.
"""
from __future__ import annotations

import asyncio
import logging
import re
import signal

from aiohttp import web

from common.privacy import install_log_masking
from voice.config import VoiceConfig
from voice.services import Services
from voice.transports.audiosocket import AudioSocketServer
from voice.transports.http_upload import utterance_handler
from voice.transports.websocket import websocket_handler

log = logging.getLogger("voice.gateway")
_PHONE_RE = re.compile(r"^\+?[0-9]{3,20}$")


async def health(request: web.Request) -> web.Response:
    services: Services = request.app["services"]
    return web.json_response({"status": "ok", "asr_ready": services.ready.is_set(),
                              "asr_engine": services.config.asr_engine,
                              "active_calls": len(request.app["audiosocket"].active)
                              if request.app.get("audiosocket") else 0})


async def set_caller(request: web.Request) -> web.Response:
    """Dialplan/AGI: POST /calls/{uuid} {"caller": "13800138000"} before or during the call."""
    services: Services = request.app["services"]
    call_id = request.match_info["call_id"].lower()
    try:
        body = await request.json()
    except ValueError:
        return web.json_response({"error": "bad_json", "message": "JSON body {\"caller\": ...} expected"}, status=400)
    caller = str((body or {}).get("caller", "")).strip() if isinstance(body, dict) else ""
    if not _PHONE_RE.match(caller):
        return web.json_response({"error": "bad_caller", "message": "caller must be a phone number"}, status=400)
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


def make_app(services: Services) -> web.Application:
    app = web.Application(client_max_size=services.config.max_upload_bytes + 256 * 1024)
    app["services"] = services
    app.router.add_get("/health", health)
    app.router.add_get("/ws", websocket_handler)
    app.router.add_post("/api/utterance", utterance_handler)
    app.router.add_post("/calls/{call_id}", set_caller)
    app.router.add_get("/calls/{call_id}", get_call)
    app.router.add_get("/calls/{call_id}/events", get_events)
    return app


async def serve(config: VoiceConfig | None = None) -> None:
    config = config or VoiceConfig()
    services = Services(config)
    app = make_app(services)
    audiosocket = AudioSocketServer(services, config.host, config.audiosocket_port)
    app["audiosocket"] = audiosocket
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await services.start()  # model loaded before /health says 200
    await audiosocket.start()
    site = web.TCPSite(runner, config.host, config.voice_port)
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
