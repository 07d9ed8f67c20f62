"""Whole conversations through the real Rasa server + action server + Redis."""
from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.integration


def customs(reply):
    return [m["custom"] for m in reply if m.get("custom")]


def test_greeting_says_what_the_bot_can_do(conversation):
    text = conversation().texts("你好")
    assert "您好" in text and "登记" in text and "进度" in text


@pytest.mark.parametrize("phrase", ["转人工", "找人工", "我要人工"])
def test_handoff_on_request(conversation, phrase):
    c = conversation()
    c.say("你好")
    reply = c.say(phrase)
    assert {"event": "handoff", "reason": "user_request"} in customs(reply)
    assert "人工" in reply[0]["text"]
    assert c.tracker()["slots"]["handoff"] is True


@pytest.mark.parametrize("phrase,number", [
    ("我家着火了", "119"),
    ("我爸突然倒地不动了", "120"),
    ("有人拿刀砍人", "110"),
    ("路上出车祸了", "122"),
])
def test_emergencies_are_sent_to_the_right_line_first(conversation, phrase, number):
    reply = conversation().say(phrase)
    assert number in reply[0]["text"], reply
    assert any(c.get("event") == "emergency" and c.get("number") == number for c in customs(reply)), reply


def test_emergency_in_the_middle_of_a_conversation_is_answered_first(conversation):
    c = conversation()
    c.say("你好")
    c.say("你是机器人吗")
    reply = c.say("不好了着火了")
    assert "119" in reply[0]["text"]


def test_bot_is_honest_about_being_a_program(conversation):
    text = conversation().texts("你是机器人吗")
    assert "不是真人" in text


def test_repeat_and_slow_down(conversation):
    c = conversation()
    first = c.texts("你好")
    assert c.texts("再说一遍") == first
    reply = c.say("说慢一点")
    assert reply[0]["text"].startswith("好的，我说慢一点")
    assert reply[1]["text"] == first
    assert c.tracker()["slots"]["speech_rate"] == "slow"


def test_low_confidence_gets_clarifying_question_then_a_person(conversation):
    # Unintelligible input: which phrase lands under the fallback threshold depends on the
    # trained model, so try a few; at least one must start the two-stage fallback.
    for noise in ["阿巴阿巴", "呜哩哇啦叽里咕噜", "嗯呃那个啥子嘛", "咕噜咕噜咕噜"]:
        c = conversation()
        replies = [c.say(noise)]
        first = "".join(m.get("text", "") for m in replies[0])
        if "您是想问" in first or "换个说法" in first:
            break
    else:
        pytest.fail("no unintelligible phrase started the clarifying question")
    for _ in range(4):
        if any(x.get("event") == "handoff" for x in customs(replies[-1])):
            break
        replies.append(c.say("不是"))
    texts = ["".join(m.get("text", "") for m in r) for r in replies]
    assert {"event": "handoff", "reason": "not_understood"} in customs(replies[-1]), texts


def test_no_with_nothing_pending_is_not_a_fallback(conversation):
    c = conversation()
    c.say("你好")
    reply = c.say("不用了")
    assert "还有什么要办的" in reply[0]["text"]
    # no fallback, no hand-off: only the question's kind for the channels
    assert customs(reply) == [{"event": "ask", "key": "anything_else", "expect": "free"}]


def test_out_of_scope_twice_goes_to_a_person(conversation):
    c = conversation()
    first = c.texts("今天天气怎么样")
    assert "帮不上" in first
    assert {"event": "handoff", "reason": "out_of_scope"} in customs(c.say("给我讲个笑话"))


def test_conversation_survives_a_rasa_restart(stack, conversation):
    c = conversation()
    c.say("你好")
    c.say("说慢一点")
    stack.restart("rasa")
    tracker = c.tracker()
    assert tracker["slots"]["speech_rate"] == "slow"
    texts = [e["text"] for e in tracker["events"] if e["event"] == "user"]
    assert texts[:2] == ["你好", "说慢一点"]
    assert "您好" in c.texts("再说一遍") or "慢" in c.texts("再说一遍")


def test_action_server_down_gets_apology_and_handoff(stack, conversation):
    actions = next(s for s in stack.services if s.name == "actions")
    from common.launcher import stop

    stop(actions)
    try:
        reply = conversation().say("转人工")
        assert "抱歉" in reply[0]["text"]
        assert {"event": "handoff", "reason": "backend_unavailable"} in customs(reply)
    finally:
        stack.restart("actions")
    assert "人工" in conversation().texts("转人工")


def test_redis_restart_loses_no_conversation(stack, redis_server, conversation):
    c = conversation()
    c.say("你好")
    c.say("说慢一点")
    time.sleep(1.5)  # AOF fsync every second
    redis_server.restart()
    # The first request after the restart may hit a stale connection; it still gets an answer.
    for _ in range(2):
        reply = c.say("你是机器人吗")
        if reply and "不是真人" in reply[0].get("text", ""):
            break
    tracker = c.tracker()
    assert tracker["slots"]["speech_rate"] == "slow"
    assert [e["text"] for e in tracker["events"] if e["event"] == "user"][:2] == ["你好", "说慢一点"]


def test_conversations_are_encrypted_at_rest(conversation, redis_server):
    import redis as redis_lib

    c = conversation()
    c.say("我的电话是13912345678")
    raw = redis_lib.Redis.from_url(redis_server.url)
    keys = [k for k in raw.keys("govdesk:*") if c.conversation_id.encode() in k]
    assert keys, "tracker not stored under the configured prefix"
    stored = raw.get(keys[0])
    assert b"13912345678" not in stored and b"sender_id" not in stored
    # ... and still readable through Rasa.
    assert any(e.get("text") == "我的电话是13912345678" for e in c.tracker()["events"])
