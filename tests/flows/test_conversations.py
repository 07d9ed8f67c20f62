"""Guided flows through the REST channel against the real stack (Redis + actions + Rasa)."""
from __future__ import annotations

import asyncio
import json
import re

import pytest

from textnorm.speech import SLOW_MAX_CHARS

pytestmark = pytest.mark.integration

ID = "11010519491231002X"
PHONE = "13812345678"


def start_idcard_flow(c) -> str:
    """'我身份证丢了' -> at once the safety question of the lost-ID flow (no second phrasing)."""
    reply = c.texts("我身份证丢了")
    assert "偷" in reply and reply.endswith("？"), reply
    return reply


def no_clear_numbers(c) -> None:
    """IDs and phones are masked everywhere except the read-back the caller is asked to check."""
    for turn in c.replies:
        for m in turn:
            text = m.get("text") or ""
            if text.startswith("我念一遍"):
                continue
            assert ID not in text and PHONE not in text, text


def fill_to_reference(c) -> str:
    assert "坐火车" in c.texts("没有，自己弄丢的")
    assert "登记" in c.texts("不出门")
    assert "名字" in c.texts("要")   # "我身份证丢了": the caller's own card, not asked for whom
    assert "身份证号" in c.texts("我叫陈小明")
    assert "还差12位" in c.texts("幺幺零幺零五")
    readback = c.texts("一九四九一二三幺零零两叉")
    assert "零零二叉" in readback and readback.endswith("对吗？"), readback
    assert "手机号" in c.texts("对")
    assert "五六七八" in c.texts("幺三八 幺二三四 五六七八")
    assert "哪个村" in c.texts("对的")
    summary = c.texts("杨湾村")   # resolved in the directory: 柳树镇杨湾村
    assert "陈小明" in summary and "5678" in summary and PHONE not in summary
    done = c.texts("对")
    ref = re.search(r"编号是：([0-9]+)", done)
    assert ref, done
    return ref.group(1)


def test_happy_path_registers_a_work_order(conversation, redis_server):
    c = conversation(metadata={"channel": "web"})
    start_idcard_flow(c)
    ref = fill_to_reference(c)
    no_clear_numbers(c)

    import redis.asyncio as aioredis

    from workorders.service import WorkOrderService

    async def check():
        client = aioredis.from_url(redis_server.url)
        svc = WorkOrderService(client)
        order = await svc.get(ref)
        raw = json.dumps(order, ensure_ascii=False)
        assert ID not in raw and PHONE not in raw and "陈小明" not in raw  # encrypted at rest
        shown = svc.present(order, None, reveal_id=True)
        assert shown["caller"]["name"] == "陈小明" and shown["caller"]["phone"] == PHONE
        assert shown["caller"]["id_number"] == ID and order["matter_id"] == "gongan.idcard_reissue"
        await client.close()

    asyncio.run(check())


def test_wrong_check_digit_then_human_offer(conversation):
    c = conversation()
    start_idcard_flow(c)
    for said in ("没有", "不出门", "要", "我叫陈小明"):
        c.texts(said)
    assert "校验" in c.texts("110105194912310021")
    assert "转人工" not in c.texts("110105194912310021")  # a second miss is not yet a reason for a person
    assert "转人工" in c.texts("110105194912310021")  # third miss -> a person is offered
    reply = c.say("好")
    assert any(m.get("custom", {}).get("event") == "handoff" for m in reply), reply


def test_correction_of_last_four_digits(conversation):
    c = conversation()
    start_idcard_flow(c)
    for said in ("没有", "不出门", "要", "我叫陈小明"):
        c.texts(said)
    # a digit misheard as 1 -> the check digit fails, so say it once right and correct later
    c.texts("幺幺零幺零五幺九四九幺二三幺零零二叉")
    reply = c.texts("不对，最后四位是洞洞两叉")
    assert "零零二叉" in reply and reply.endswith("对吗？"), reply


def test_mid_form_question_is_answered_and_the_question_repeated(conversation):
    c = conversation()
    start_idcard_flow(c)
    reply = c.texts("要带什么")
    assert "户口簿" in reply and "偷" in reply and reply.endswith("？"), reply


def test_cancel_is_confirmed_then_stops_cleanly(conversation):
    c = conversation()
    start_idcard_flow(c)
    assert "不办了吗" in c.texts("算了，不办了")   # nothing is thrown away before the caller confirms
    assert (c.tracker().get("active_loop") or {}).get("name") == "flow_form"
    reply = c.say("对")
    assert any(m.get("custom", {}).get("event") == "flow_end" for m in reply), reply
    assert "不登记" in "".join(m.get("text") or "" for m in reply)
    assert not (c.tracker().get("active_loop") or {}).get("name")


def test_cancel_answered_no_goes_on_with_the_question(conversation):
    c = conversation()
    start_idcard_flow(c)
    c.texts("算了，不办了")
    reply = c.texts("不是，接着办")
    assert "偷" in reply and reply.endswith("？"), reply


def test_repeat_and_slower_ask_the_question_again_without_the_card(conversation):
    c = conversation(metadata={"channel": "voice"})
    start_idcard_flow(c)
    c.texts("没有")
    again = c.say("说慢点")
    text = "".join(m.get("text") or "" for m in again)
    ask = [m["custom"] for m in again if (m.get("custom") or {}).get("event") == "ask"]
    assert text.endswith("最近要不要坐火车、坐飞机出门？") and "40元" not in text, text
    assert ask == [{"event": "ask", "key": "travel", "expect": "yesno", "rate": "slow"}]
    assert c.texts("再说一遍").endswith("坐飞机出门？")


def test_after_slower_a_card_comes_in_shorter_sentences(conversation):
    c = conversation(metadata={"channel": "voice"})
    start_idcard_flow(c)
    c.say("说慢点")
    card = c.texts("要带什么材料")
    said = re.findall(r"[^。！？]+[。！？]", card)
    assert said and all(len(s) <= SLOW_MAX_CHARS or not re.search("[，、；]", s) for s in said), card


def test_request_human_mid_form(conversation):
    c = conversation()
    start_idcard_flow(c)
    reply = c.say("转人工")
    assert any(m.get("custom", {}).get("event") == "handoff" for m in reply), reply
    assert not (c.tracker().get("active_loop") or {}).get("name")


def test_emergency_mid_form_is_answered_first(conversation):
    c = conversation()
    start_idcard_flow(c)
    reply = c.texts("我家着火了")
    assert "119" in reply


def test_resumed_call_continues_the_form(conversation):
    from common.privacy import caller_key

    sender = caller_key("13900001111")
    c = conversation(sender=sender, metadata={"channel": "voice", "caller": "13900001111"})
    c.texts("/call_start")
    start_idcard_flow(c)
    c.texts("没有")
    again = conversation(sender=sender, metadata={"channel": "voice", "caller": "13900001111"})
    reply = again.texts("/call_start")
    assert "欢迎回来" in reply and "坐火车" in reply, reply
