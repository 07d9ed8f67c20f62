"""The Rasa client speaks the REST channel's wire format: sender/message/metadata in, the internal channel
token in the header (so trusted metadata is kept), a list of replies out; failures are RasaUnavailable."""
from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from clients.rasa import RasaClient, RasaUnavailable
from common.privacy import rest_channel_token


async def test_send_carries_the_channel_token_and_returns_the_replies():
    seen = {}

    async def webhook(request):
        seen["token"] = request.headers.get("X-Govdesk-Channel-Token")
        seen["body"] = await request.json()
        return web.json_response([{"recipient_id": "s1", "text": "您好"}])

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    async with TestServer(app) as server:
        client = RasaClient(str(server.make_url("")))
        replies = await client.send("s1", "你好", {"channel": "frontdesk"})
        await client.close()
    assert replies == [{"recipient_id": "s1", "text": "您好"}]
    assert seen == {"token": rest_channel_token(),
                    "body": {"sender": "s1", "message": "你好", "metadata": {"channel": "frontdesk"}}}


async def test_an_error_status_is_rasa_unavailable():
    async def webhook(request):
        return web.Response(status=500)

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    async with TestServer(app) as server:
        client = RasaClient(str(server.make_url("")))
        with pytest.raises(RasaUnavailable):
            await client.send("s1", "你好", {})
        await client.close()
