"""The public edge (edge/haproxy.cfg) in front of Rasa, against the real stack: each attack of
issue 12 that broke Rasa from one request, and the HTTP API behind its token."""
from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import post_json, rasa_api

pytestmark = pytest.mark.integration


def raw_request(port: int, data: bytes, timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except socket.timeout:
            pass
        return b"".join(chunks)


def status_of(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, data=data, headers=headers or {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")


def test_negative_content_length_is_refused_and_rasa_keeps_answering(stack):
    started = time.monotonic()
    answer = raw_request(stack.ports.rasa, b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\n"
                                           b"Content-Type: application/json\r\nContent-Length: -1\r\n\r\n{}")
    # HAProxy's HTTP/1 parser refuses it before any rule runs (its own short 400 page).
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert time.monotonic() - started < 5
    reply = post_json(f"http://localhost:{stack.ports.rasa}/webhooks/rest/webhook",
                      {"sender": "edge-after-attack", "message": "你好"})
    assert reply and "您好" in reply[0]["text"]


def test_oversized_body_gets_413_in_chinese(stack):
    body = json.dumps({"sender": "big", "message": "长" * 40000}, ensure_ascii=False).encode()
    code, text = status_of(f"http://localhost:{stack.ports.rasa}/webhooks/rest/webhook", body)
    assert code == 413 and "太长" in text


def test_long_message_under_the_body_limit_is_refused_politely(conversation):
    reply = conversation().texts("我" * 800)
    assert reply == "您说的话太长了。请分几句说，一次说一件事。"


def test_rasa_http_api_is_not_on_the_public_edge(stack):
    for path in ("/conversations/anyone/tracker", "/status", "/model", "/model/parse"):
        code, text = status_of(f"http://localhost:{stack.ports.rasa}{path}")
        assert code == 404 and "没有这个地址" in text, path


def test_rasa_http_api_needs_its_token(stack):
    api = f"http://127.0.0.1:{stack.ports.rasa_internal}"
    assert status_of(f"{api}/conversations/anyone/tracker")[0] == 401
    assert status_of(f"{api}/conversations/anyone/tracker?token=wrong")[0] == 401
    assert status_of(rasa_api(api, "/conversations/anyone/tracker"))[0] == 200


def test_a_client_cannot_claim_a_callers_phone(conversation):
    """metadata.caller unlocks a caller's orders: only internal callers may set it."""
    c = conversation(metadata={"channel": "voice", "caller": "13800001111"}, trusted=False)
    c.texts("你好")
    metadata = c.tracker()["latest_message"].get("metadata") or {}
    assert "caller" not in metadata and metadata.get("channel") == "voice"


def test_a_client_cannot_join_another_conversation_by_naming_it(conversation):
    caller = conversation(metadata={"channel": "voice", "caller": "13912345678"})   # the voice gateway
    caller.texts("我想登记，我叫张德贵")
    before = [e["text"] for e in caller.tracker()["events"] if e["event"] == "user"]
    intruder = conversation(sender=caller.sender, metadata={"channel": "web"}, trusted=False)
    heard = intruder.texts("再说一遍")
    assert "张德贵" not in heard
    assert [e["text"] for e in caller.tracker()["events"] if e["event"] == "user"] == before
    assert intruder.conversation_id != caller.sender


def test_action_server_listens_on_loopback_only(stack):
    import psutil

    listening = {c.laddr for c in psutil.net_connections(kind="tcp") if c.status == "LISTEN"}
    actions = [a for a in listening if a.port == stack.ports.actions]
    rasa = [a for a in listening if a.port == stack.ports.rasa_internal]
    assert actions and all(a.ip in ("127.0.0.1", "::1") for a in actions), actions
    assert rasa and all(a.ip in ("127.0.0.1", "::1") for a in rasa), rasa
