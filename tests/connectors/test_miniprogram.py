"""Mini-program channel end to end against the real Rasa server and the fake jscode2session."""
from __future__ import annotations

import asyncio
import os
import json
import secrets
import time

import aiohttp
import pytest
import requests

from tests.conftest import rasa_api
from connectors.shared import pseudonym
from tests.connectors.fake_wechat import make_wav

pytestmark = pytest.mark.integration


def mp(base: str, path: str) -> str:
    return f"{base}/webhooks/miniprogram/{path}"


def login(base: str, fake, oid: str | None = None) -> tuple[str, str, dict]:
    oid = oid or "o" + secrets.token_urlsafe(20)
    r = requests.post(mp(base, "login"), json={"code": fake.issue_code(oid)}, timeout=60)
    assert r.status_code == 200, r.text
    return oid, r.json()["session"], r.json()


def user_texts(base: str, oid: str) -> list[str]:
    tracker = requests.get(rasa_api(os.environ["TEST_RASA_API"], f"/conversations/{pseudonym('wxmp', oid)}/tracker"),
                           timeout=30).json()
    return [e.get("text") for e in tracker.get("events", []) if e.get("event") == "user"]


def test_login_starts_a_session(rasa_base, fake_wechat):
    oid, session, body = login(rasa_base, fake_wechat)
    assert body["expires_in"] > 0 and isinstance(body["replies"], list)
    assert oid not in session
    assert user_texts(rasa_base, oid)[:1] == ["/call_start"]


def test_login_with_bad_or_reused_code_is_refused(rasa_base, fake_wechat):
    r = requests.post(mp(rasa_base, "login"), json={"code": "not-a-code"}, timeout=30)
    assert r.status_code == 401 and r.json()["errcode"] == 40029
    code = fake_wechat.issue_code("o-reuse")
    assert requests.post(mp(rasa_base, "login"), json={"code": code}, timeout=60).status_code == 200
    r = requests.post(mp(rasa_base, "login"), json={"code": code}, timeout=30)
    assert r.status_code == 401 and r.json()["errcode"] == 40163
    assert requests.post(mp(rasa_base, "login"), json={}, timeout=30).status_code == 400


def test_message_returns_replies(rasa_base, fake_wechat):
    oid, session, _ = login(rasa_base, fake_wechat)
    r = requests.post(mp(rasa_base, "message"), json={"session": session, "text": "你好"}, timeout=60)
    assert r.status_code == 200
    replies = r.json()["replies"]
    assert replies[0]["type"] == "text" and "您好" in replies[0]["text"]
    assert user_texts(rasa_base, oid)[-1] == "你好"


def test_message_retry_with_same_id_runs_once(rasa_base, fake_wechat):
    oid, session, _ = login(rasa_base, fake_wechat)
    payload = {"session": session, "text": "你好", "id": "c-" + secrets.token_hex(4)}
    first = requests.post(mp(rasa_base, "message"), json=payload, timeout=60).json()
    again = requests.post(mp(rasa_base, "message"), json=payload, timeout=60).json()
    assert again["duplicate"] is True and again["replies"] == first["replies"]
    assert user_texts(rasa_base, oid).count("你好") == 1


def test_handoff_item(rasa_base, fake_wechat):
    _, session, _ = login(rasa_base, fake_wechat)
    r = requests.post(mp(rasa_base, "message"), json={"session": session, "text": "转人工"}, timeout=60)
    assert {"type": "handoff", "text": "人工客服马上为您服务", "reason": "user_request"} in r.json()["replies"]


def test_forged_tampered_and_expired_sessions_are_401(rasa_base, fake_wechat):
    oid, session, _ = login(rasa_base, fake_wechat)
    sid, exp, mac = session.split(".")
    forged = [
        f"{sid}.{int(exp) + 3600}.{mac}",                    # extended expiry, old MAC
        f"{secrets.token_urlsafe(18)}.{exp}.{mac}",          # another sid
        f"{sid}.{exp}.{mac[:-2]}AA",                         # bad MAC
        "garbage", "",
    ]
    for token in forged:
        r = requests.post(mp(rasa_base, "message"), json={"session": token, "text": "你好"}, timeout=30)
        assert r.status_code == 401, token
    assert user_texts(rasa_base, oid) == ["/call_start"]


def test_oversized_body_is_413(rasa_base, fake_wechat):
    _, session, _ = login(rasa_base, fake_wechat)
    r = requests.post(mp(rasa_base, "message"), data=json.dumps({"session": session, "text": "你" * 40000}),
                      headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 413


def test_voice_upload_is_transcribed_by_the_gateway(rasa_base, fake_wechat):
    oid, session, _ = login(rasa_base, fake_wechat)
    fake_wechat.transcript = "你好"
    before = len(fake_wechat.utterances)
    r = requests.post(mp(rasa_base, "voice"), data=make_wav(), timeout=60,
                      headers={"Authorization": f"Bearer {session}", "Content-Type": "audio/wav"})
    assert r.status_code == 200
    assert r.json()["text"] == "你好" and "您好" in r.json()["replies"][0]["text"]
    call = fake_wechat.utterances[before]
    assert call["content_type"] == "audio/wav" and call["sender"] == pseudonym("wxmp", oid)
    assert user_texts(rasa_base, oid) == ["/call_start", "你好"]
    r = requests.post(mp(rasa_base, "voice"), data=make_wav(), timeout=30,
                      headers={"Authorization": "Bearer forged.1.x"})
    assert r.status_code == 401


def _answered(oid: str, text: str) -> bool:
    """True once the tracker holds a bot reply after the user's `text`."""
    tracker = requests.get(rasa_api(os.environ["TEST_RASA_API"], f"/conversations/{pseudonym('wxmp', oid)}/tracker"),
                           timeout=30).json()
    events = tracker.get("events", [])
    users = [i for i, e in enumerate(events) if e.get("event") == "user" and e.get("text") == text]
    return bool(users) and any(e.get("event") == "bot" for e in events[users[-1]:])


def ws_endpoint() -> str:
    """The channel's WebSocket on Rasa itself. Known gap (issue 12 notes): through the HAProxy
    edge a client's closing handshake can wait on a busy server, so these tests bypass it."""
    return mp(os.environ["TEST_RASA_API"], "ws").replace("http://", "ws://")


async def _recv(ws, kind: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        msg = await ws.receive_json(timeout=max(0.1, deadline - time.monotonic()))
        if msg["type"] == kind:
            return msg


async def test_websocket_typing_then_reply(rasa_base, fake_wechat):
    _, session, _ = login(rasa_base, fake_wechat)
    ws_url = ws_endpoint()
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(ws_url) as ws:
            await ws.send_json({"type": "auth", "session": session})
            assert (await ws.receive_json(timeout=10))["type"] == "ready"
            await ws.send_json({"type": "message", "text": "你好", "id": 1})
            first = await ws.receive_json(timeout=60)
            assert first == {"type": "typing", "in_reply_to": 1}
            reply = await ws.receive_json(timeout=60)
            assert reply["type"] == "reply" and reply["in_reply_to"] == 1
            assert "您好" in reply["replies"][0]["text"]


async def test_websocket_forged_session_is_closed(rasa_base):
    ws_url = ws_endpoint()
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(ws_url) as ws:
            await ws.send_json({"type": "auth", "session": "a.1.b"})
            assert (await ws.receive_json(timeout=10)) == {"type": "error", "error": "invalid_session"}
            msg = await ws.receive(timeout=10)
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
            assert ws.close_code == 4401


async def test_websocket_reconnect_gets_buffered_reply_and_same_conversation(rasa_base, fake_wechat):
    # bounded: a wedged socket must fail this test, not hang the run
    await asyncio.wait_for(_reconnect(rasa_base, fake_wechat), 240)


async def _reconnect(rasa_base, fake_wechat):
    oid, session, _ = login(rasa_base, fake_wechat)
    ws_url = ws_endpoint()
    bounded = aiohttp.ClientTimeout(total=120)
    dropped = aiohttp.ClientSession(timeout=bounded)
    ws = await dropped.ws_connect(ws_url)
    await ws.send_json({"type": "auth", "session": session})
    assert (await ws.receive_json(timeout=10))["type"] == "ready"
    await ws.send_json({"type": "message", "text": "你好", "id": "before-drop"})
    assert (await _recv(ws, "typing", timeout=60))["in_reply_to"] == "before-drop"   # received
    # The line drops before the answer can arrive, as when a phone loses signal: the socket is cut,
    # with no closing handshake (which would wait on the busy server).
    await dropped.close()
    # the turn completes while no socket is connected
    deadline = time.monotonic() + 90
    while not await asyncio.to_thread(_answered, oid, "你好"):
        assert time.monotonic() < deadline, "the bot never answered the turn sent before the drop"
        await asyncio.sleep(0.5)
    await asyncio.sleep(1)   # the tracker is saved just before the reply is kept
    async with aiohttp.ClientSession(timeout=bounded) as http:
        async with http.ws_connect(ws_url) as ws:
            await ws.send_json({"type": "auth", "session": session})
            assert (await ws.receive_json(timeout=10))["type"] == "ready"
            got = await _recv(ws, "reply", timeout=60)
            assert got["in_reply_to"] == "before-drop" and got.get("buffered") is True
            assert "您好" in got["replies"][0]["text"]
            # the client, unsure, sends the dropped message again: it is not run twice
            await ws.send_json({"type": "message", "text": "你好", "id": "before-drop"})
            assert (await _recv(ws, "typing", timeout=60))["in_reply_to"] == "before-drop"
            await ws.send_json({"type": "message", "text": "再说一遍", "id": "after"})
            again = await _recv(ws, "reply", timeout=60)
            assert again["in_reply_to"] == "after"
            assert "您好" in "".join(r.get("text", "") for r in again["replies"])   # same tracker
            for seen in ("before-drop", "after"):
                await ws.send_json({"type": "ack", "in_reply_to": seen})
            await ws.send_json({"type": "ping"})   # frames are handled in order: the acks are in
            assert (await _recv(ws, "pong", timeout=30))["type"] == "pong"
        # acknowledged replies are not sent again: the first frame after ready answers the ping
        async with http.ws_connect(ws_url) as ws:
            await ws.send_json({"type": "auth", "session": session})
            assert (await ws.receive_json(timeout=10))["type"] == "ready"
            await ws.send_json({"type": "ping"})
            assert (await ws.receive_json(timeout=10))["type"] == "pong"
    assert user_texts(rasa_base, oid) == ["/call_start", "你好", "再说一遍"]
