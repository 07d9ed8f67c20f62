"""The action server: rasa-sdk's own Sanic app (`rasa_sdk.endpoint.create_app`) behind a shared secret.

Wire format is rasa-sdk's: POST /webhook with the action call JSON, GET /actions, GET /health.
Rasa sends the secret as the query parameter `?token=<ACTION_TOKEN>` (endpoints.yml
`action_endpoint.token`, Rasa's EndpointConfig). Every path but /health answers 401 without it,
so a process that reaches the port cannot run an action (for example list a caller's orders)
with a crafted tracker. No CORS (only Rasa calls it). Binds SANIC_HOST (loopback by default).
The intake classifier and the catalogue index are warmed before the port opens.

    python -m bot.action_server --port 5055
"""
from __future__ import annotations

import argparse
import hmac
import logging

from common.privacy import action_token, install_log_masking, load_secret
from common.settings import PORTS, env_str

logger = logging.getLogger(__name__)
OPEN_PATHS = ("/health",)


def create_app(token: str):
    from rasa_sdk.endpoint import create_app as sdk_app
    from sanic import response

    app = sdk_app("bot.actions", cors_origins=None)
    expected = token.encode()

    @app.on_request
    async def require_token(request):
        if request.path in OPEN_PATHS:
            return None
        given = (request.args.get("token") or "").encode()
        if not hmac.compare_digest(given, expected):
            return response.json({"error": "unauthorized", "message": "未授权的请求。"}, status=401)
        return None

    return app


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=PORTS.actions)
    args = ap.parse_args(argv)
    load_secret()
    install_log_masking()
    app = create_app(action_token())
    # Ready means warm: the intake model is trained and the catalogue index built before /health answers,
    # so the first 12345 caller after a start does not wait ~10 s for them.
    from workorders import classify

    classify.warm_up()
    host = env_str("SANIC_HOST", "127.0.0.1")
    logger.info("action server on %s:%d", host, args.port)
    app.run(host, args.port, workers=1, access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
