"""Staff API additions for the web consoles: POST /api/bot/message relays to Rasa's REST channel."""
from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tests.staffapi.test_app import Api, users
from workorders import auth
from staffapi.app import create_app
from staffapi.openapi import build_openapi


async def fake_rasa():
    seen = []

    async def webhook(request):
        body = await request.json()
        seen.append(body)
        return web.json_response([{"recipient_id": body["sender"], "text": "您好，请问办理什么业务？"},
                                  {"recipient_id": body["sender"], "text": "请出示户口簿。"}])

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    server = TestServer(app)
    await server.start_server()
    return server, seen


async def test_bot_message_relays_with_frontdesk_metadata(svc, monkeypatch):
    rasa, seen = await fake_rasa()
    monkeypatch.setenv("RASA_URL", str(rasa.make_url("")).rstrip("/"))
    app = create_app(service=svc, users=users(), signer=auth.TokenSigner(b"k" * 32), run_scheduler=False)
    client = TestClient(TestServer(app))
    await client.start_server()
    api = Api(client)
    try:
        status, body = await api.call("POST", "/api/bot/message", "clerk", json={"message": "身份证丢了", "session": "abcd1234"})
        assert status == 200, body
        assert body["suggested"] == "请出示户口簿。" and len(body["messages"]) == 2
        assert seen[0]["metadata"]["channel"] == "frontdesk"
        assert seen[0]["sender"] == "frontdesk-clerk-abcd1234" == body["sender"]
        # roles, validation
        status, body = await api.call("POST", "/api/bot/message", "handler", json={"message": "x", "session": "abcd1234"})
        assert status == 403
        status, body = await api.call("POST", "/api/bot/message", "clerk", json={"message": "", "session": "abcd1234"})
        assert status == 400 and body["error"] == "message_required"
        status, body = await api.call("POST", "/api/bot/message", "clerk", json={"message": "你好", "session": "../x"})
        assert status == 400
        status, _ = await api.call("POST", "/api/bot/message", json={"message": "你好", "session": "abcd1234"})
        assert status == 401
        assert "/api/bot/message" in build_openapi(app)["paths"]
        # Rasa down -> a clear 502
        await rasa.close()
        status, body = await api.call("POST", "/api/bot/message", "clerk", json={"message": "你好", "session": "abcd1234"})
        assert status == 502 and body["error"] == "bot_unavailable"
    finally:
        await client.close()
