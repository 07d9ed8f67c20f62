"""Official Account channel end to end: a WeChat-shaped request -> the real Rasa server -> reply.

Requests are built with tests/connectors/wx_reference.py (the published algorithm,
independent of connectors/). Outgoing API calls go to tests/connectors/fake_wechat.py.
"""
from __future__ import annotations

import os
import secrets
import signal
import threading
import time

import pytest
import requests

from tests.conftest import rasa_api
from connectors.shared import pseudonym
from tests.connectors.conftest import ACCOUNT, AES_KEY, APPID, TOKEN
from tests.connectors.fake_wechat import make_wav
from tests.connectors.wx_reference import (RefCrypt, encrypted_envelope, event_xml, media_xml, parse, query,
                                           sha1_sorted, text_xml)

pytestmark = pytest.mark.integration

HANDOFF_TEXT_START = "好的，马上为您转接人工服务"


def openid() -> str:
    return "o" + secrets.token_urlsafe(20)


def url(base: str) -> str:
    return f"{base}/webhooks/wechat/webhook"


def post_plain(base: str, xml: str, q: dict | None = None, **qkw) -> requests.Response:
    q = q or query(TOKEN, **qkw)
    return requests.post(url(base), params=q, data=xml.encode("utf-8"),
                         headers={"Content-Type": "text/xml"}, timeout=30)


def post_safe(base: str, inner: str, crypt: RefCrypt | None = None) -> requests.Response:
    crypt = crypt or RefCrypt(TOKEN, AES_KEY, APPID)
    enc = crypt.encrypt(inner)
    return requests.post(url(base), params=query(TOKEN, encrypted=enc),
                         data=encrypted_envelope(ACCOUNT, enc).encode(), timeout=30)


def user_texts(base: str, oid: str) -> list[str]:
    sender = pseudonym("wx", oid)
    tracker = requests.get(rasa_api(os.environ["TEST_RASA_API"], f"/conversations/{sender}/tracker"), timeout=30).json()
    return [e.get("text") for e in tracker.get("events", []) if e.get("event") == "user"]


@pytest.fixture(scope="module")
def base(rasa_base):
    # Warm the model up once so the first timed request measures steady state.
    requests.post(f"{rasa_base}/webhooks/rest/webhook", json={"sender": "wx-warmup", "message": "你好"}, timeout=120)
    return rasa_base


# ------------------------------------------------------------------ URL verification
def test_url_verification_plain(base):
    echostr = secrets.token_hex(8)
    q = query(TOKEN)
    r = requests.get(url(base), params={**q, "echostr": echostr}, timeout=10)
    assert r.status_code == 200 and r.text == echostr
    bad = {**q, "echostr": echostr, "signature": sha1_sorted("wrong-token", q["timestamp"], q["nonce"])}
    r = requests.get(url(base), params=bad, timeout=10)
    assert r.status_code == 403 and echostr not in r.text


def test_url_verification_encrypted_echostr(base):
    plain = str(secrets.randbelow(10**12))
    enc = RefCrypt(TOKEN, AES_KEY, APPID).encrypt(plain)
    q = query(TOKEN, encrypted=enc)
    r = requests.get(url(base), params={**q, "echostr": enc}, timeout=10)
    assert r.status_code == 200 and r.text == plain
    q["msg_signature"] = sha1_sorted(TOKEN, q["timestamp"], q["nonce"], "x" + enc)
    assert requests.get(url(base), params={**q, "echostr": enc}, timeout=10).status_code == 403


# ------------------------------------------------------------------ messages
def test_text_message_gets_passive_reply(base, fake_wechat):
    oid = openid()
    started = time.monotonic()
    r = post_plain(base, text_xml(oid, ACCOUNT, "你好"))
    elapsed = time.monotonic() - started
    assert r.status_code == 200
    reply = parse(r.text)
    assert reply["MsgType"] == "text"
    assert reply["ToUserName"] == oid and reply["FromUserName"] == ACCOUNT
    assert "您好" in reply["Content"]
    assert elapsed < 4.8
    assert abs(int(reply["CreateTime"]) - time.time()) < 60
    assert fake_wechat.messages_to(oid) == []          # nothing went the slow way


def test_safe_mode_message_gets_encrypted_reply(base):
    oid = openid()
    crypt = RefCrypt(TOKEN, AES_KEY, APPID)
    r = post_safe(base, text_xml(oid, ACCOUNT, "你好"), crypt)
    assert r.status_code == 200
    env = parse(r.text)
    assert set(env) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert env["MsgSignature"] == sha1_sorted(TOKEN, env["TimeStamp"], env["Nonce"], env["Encrypt"])
    inner, appid = crypt.decrypt(env["Encrypt"])
    assert appid == APPID
    reply = parse(inner)
    assert reply["MsgType"] == "text" and reply["ToUserName"] == oid and "您好" in reply["Content"]


def test_safe_mode_other_appid_or_bad_msg_signature_is_refused(base):
    oid = openid()
    r = post_safe(base, text_xml(oid, ACCOUNT, "你好"), RefCrypt(TOKEN, AES_KEY, "wx0000000000000000"))
    assert r.status_code == 403
    enc = RefCrypt(TOKEN, AES_KEY, APPID).encrypt(text_xml(oid, ACCOUNT, "你好"))
    q = query(TOKEN, encrypted=enc)
    q["msg_signature"] = sha1_sorted("not-the-token", q["timestamp"], q["nonce"], enc)
    r = requests.post(url(base), params=q, data=encrypted_envelope(ACCOUNT, enc).encode(), timeout=30)
    assert r.status_code == 403
    assert user_texts(base, oid) == []


def test_retries_with_same_msgid_are_processed_once(base):
    oid = openid()
    xml = text_xml(oid, ACCOUNT, "你好", msg_id=secrets.randbelow(10**18))
    results: list[requests.Response] = []

    def send():
        results.append(post_plain(base, xml))

    threads = [threading.Thread(target=send) for _ in range(3)]   # WeChat retries up to 3 times
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    later = post_plain(base, xml)                                  # a late retry
    assert [r.status_code for r in results] == [200, 200, 200] and later.status_code == 200
    assert user_texts(base, oid) == ["你好"]
    contents = {parse(r.text)["Content"] for r in results + [later] if r.text != "success"}
    assert len(contents) == 1 and "您好" in contents.pop()


def test_forged_signature_is_refused_and_nothing_processed(base):
    oid = openid()
    q = query(TOKEN)
    q["signature"] = sha1_sorted("forged", q["timestamp"], q["nonce"])
    r = post_plain(base, text_xml(oid, ACCOUNT, "你好"), q=q)
    assert r.status_code == 403
    q = query(TOKEN)
    del q["signature"]
    assert post_plain(base, text_xml(oid, ACCOUNT, "你好"), q=q).status_code == 403
    assert user_texts(base, oid) == []


def test_replayed_old_timestamp_is_refused(base):
    oid = openid()
    r = post_plain(base, text_xml(oid, ACCOUNT, "你好"), timestamp=int(time.time()) - 3600)
    assert r.status_code == 403
    assert user_texts(base, oid) == []


def test_oversized_body_is_413(base):
    oid = openid()
    xml = text_xml(oid, ACCOUNT, "你" * 40000)   # ~120 KB
    r = post_plain(base, xml)
    assert r.status_code == 413
    assert user_texts(base, oid) == []


@pytest.mark.parametrize("safe", [False, True])
def test_doctype_and_entities_are_400(base, safe):
    oid = openid()
    xml = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
           f"<xml><ToUserName>{ACCOUNT}</ToUserName><FromUserName>{oid}</FromUserName>"
           "<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&e;</Content><MsgId>1</MsgId></xml>")
    r = post_safe(base, xml) if safe else post_plain(base, xml)
    assert r.status_code == 400
    bomb = ('<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            f"<xml><FromUserName>{oid}</FromUserName><Content>&b;</Content></xml>")
    r = post_safe(base, bomb) if safe else post_plain(base, bomb)
    assert r.status_code == 400
    assert user_texts(base, oid) == []


def test_handoff_transfers_to_customer_service(base, fake_wechat):
    oid = openid()
    r = post_plain(base, text_xml(oid, ACCOUNT, "转人工"))
    assert r.status_code == 200
    reply = parse(r.text)
    assert reply["MsgType"] == "transfer_customer_service"
    assert reply["ToUserName"] == oid and "Content" not in reply
    sent = fake_wechat.wait_messages(oid, 1, timeout=15)
    assert sent and sent[0]["content"].startswith(HANDOFF_TEXT_START)
    assert "\\u" not in sent[0]["raw"]                  # UTF-8 JSON, not \u escapes


def test_expired_token_is_refreshed_and_the_call_retried(base, fake_wechat):
    oid = openid()
    post_plain(base, text_xml(oid, ACCOUNT, "转人工"))     # make sure a token is cached
    assert fake_wechat.wait_messages(oid, 1, timeout=15)
    calls = fake_wechat.token_calls
    fake_wechat.expire_tokens()
    r = post_plain(base, text_xml(oid, ACCOUNT, "我要人工"))
    assert parse(r.text)["MsgType"] == "transfer_customer_service"
    sent = fake_wechat.wait_messages(oid, 2, timeout=15)
    assert len(sent) == 2
    assert fake_wechat.token_calls == calls + 1
    assert any(m["touser"] == oid and m["errcode"] == 42001 for m in fake_wechat.refused)


def test_out_of_48_hour_window_is_recorded_undeliverable(base, fake_wechat, rdb):
    oid = openid()
    fake_wechat.window_closed.add(oid)
    r = post_plain(base, text_xml(oid, ACCOUNT, "转人工"))
    assert parse(r.text)["MsgType"] == "transfer_customer_service"
    sender = pseudonym("wx", oid)
    deadline = time.monotonic() + 15
    entries: list[dict] = []
    import json
    while time.monotonic() < deadline and not entries:
        entries = [json.loads(e) for e in rdb.lrange("govdesk:wx:undeliverable", 0, 50)]
        entries = [e for e in entries if e["sender"] == sender]
        time.sleep(0.1)
    assert entries and entries[0]["errcode"] == 45015
    assert entries[0]["texts"][0].startswith(HANDOFF_TEXT_START)
    assert fake_wechat.messages_to(oid) == []


def test_slow_bot_answers_success_then_customer_service_message(base, fake_wechat, wechat_stack):
    """The action server is paused, so the real bot is slower than WeChat's 5 s."""
    oid = openid()
    actions = next(s for s in wechat_stack.services if s.name == "actions")
    os.kill(actions.proc.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        r = post_plain(base, text_xml(oid, ACCOUNT, "再说一遍"))
        elapsed = time.monotonic() - started
        assert r.status_code == 200 and r.text == "success"
        assert 4.0 < elapsed < 5.0
        assert fake_wechat.messages_to(oid) == []
    finally:
        os.kill(actions.proc.pid, signal.SIGCONT)
    sent = fake_wechat.wait_messages(oid, 1, timeout=30)
    assert sent and "还没说什么" in sent[0]["content"]


def test_image_gets_polite_reply_and_option_1_hands_off(base):
    oid = openid()
    r = post_plain(base, media_xml(oid, ACCOUNT, "image", "media-1"))
    reply = parse(r.text)
    assert reply["MsgType"] == "text" and "图片" in reply["Content"] and "回复1：转人工" in reply["Content"]
    r = post_plain(base, text_xml(oid, ACCOUNT, "1"))
    assert parse(r.text)["MsgType"] == "transfer_customer_service"


def test_voice_with_recognition_goes_to_the_bot(base):
    oid = openid()
    r = post_plain(base, media_xml(oid, ACCOUNT, "voice", "m-unused", recognition="你好"))
    assert "您好" in parse(r.text)["Content"]
    assert user_texts(base, oid) == ["你好"]


def test_voice_without_recognition_is_fetched_and_transcribed(base, fake_wechat):
    oid = openid()
    media_id = fake_wechat.add_media(make_wav())
    before = len(fake_wechat.utterances)
    fake_wechat.transcript = "你好"
    r = post_plain(base, media_xml(oid, ACCOUNT, "voice", media_id))
    assert "您好" in parse(r.text)["Content"]
    call = fake_wechat.utterances[before]
    assert call["riff"] is True and call["content_type"] == "audio/amr"
    assert call["sender"] == pseudonym("wx", oid) and call["channel"] == "wechat" and call["audio"] == "0"
    assert user_texts(base, oid) == ["你好"]          # the gateway ran the turn; not sent twice


def test_voice_gateway_down_gets_a_clear_reply(base, fake_wechat):
    oid = openid()
    media_id = fake_wechat.add_media(make_wav())
    fake_wechat.voice_up = False
    try:
        r = post_plain(base, media_xml(oid, ACCOUNT, "voice", media_id))
    finally:
        fake_wechat.voice_up = True
    assert "请您打字" in parse(r.text)["Content"]
    assert user_texts(base, oid) == []


def test_subscribe_greets_unsubscribe_is_silent_and_menu_click_maps(base):
    oid = openid()
    r = post_plain(base, event_xml(oid, ACCOUNT, "subscribe"))
    reply = parse(r.text)
    assert reply["MsgType"] == "text" and reply["Content"]
    r = post_plain(base, event_xml(oid, ACCOUNT, "CLICK", "HUMAN"))
    assert parse(r.text)["MsgType"] == "transfer_customer_service"
    r = post_plain(base, event_xml(oid, ACCOUNT, "unsubscribe"))
    assert r.status_code == 200 and r.text == "success"
