"""12345 work orders through the REST channel against the real Rasa + action servers and Redis.

Orders are checked in the store with WorkOrderService on the stack's Redis (redis_server.url);
each test uses its own phone number and village so the tests do not see each other's orders.
"""
from __future__ import annotations

import asyncio
import random

import pytest

pytestmark = pytest.mark.integration


def customs(reply):
    return [m["custom"] for m in reply if m.get("custom")]


def new_phone() -> str:
    return "139" + "".join(random.choice("0123456789") for _ in range(8))


def run(coro):
    return asyncio.run(coro)


async def with_service(redis_url, fn):
    """Call fn(svc) with a fresh client in this event loop (the service's default key prefix)."""
    import redis.asyncio as aioredis

    from workorders.service import WorkOrderService

    client = aioredis.from_url(redis_url)
    try:
        return await fn(WorkOrderService(client))
    finally:
        await (client.aclose() if hasattr(client, "aclose") else client.close())


def get_order(redis_server, order_id):
    return run(with_service(redis_server.url, lambda svc: svc.get(order_id)))


def completed_order(redis_server, text, phone, place):
    async def make(svc):
        o = await svc.create(text, caller_phone=phone, place=place, category="政务类", type="求助",
                             urgency="一般", channel="voice")
        await svc.transition(o["id"], "dispatch", None, unit_id="C01T04")
        await svc.transition(o["id"], "sign", None)
        await svc.transition(o["id"], "start", None)
        await svc.transition(o["id"], "reply", None, reply="已经处理好了。")
        return await svc.transition(o["id"], "complete", None)

    return run(with_service(redis_server.url, make))


def test_complaint_becomes_a_work_order_in_the_store(conversation, redis_server):
    phone = new_phone()
    c = conversation(metadata={"channel": "web"})
    assert "哪个镇" in c.texts("我要投诉镇上办事的态度不好")
    assert "手机号" in c.texts("大坪乡石门村")
    readback = c.texts(phone)
    from textnorm.spoken_numbers import read_phone

    assert "对吗" in readback and read_phone(phone, voice=False) in readback   # 3-4-4 read-back
    final = c.texts("对")
    ref = c.tracker()["slots"]["wo_ref"]
    assert ref and ref in final and "工单号" in final
    order = get_order(redis_server, ref)
    assert order["type"] == "投诉" and order["channel"] == "web"
    assert order["place"] == {"township": "大坪乡", "village": "石门村"}
    assert order["state"] == "accepted" and "态度" in order["text"]


def test_voice_caller_reports_with_place_and_own_number(conversation, redis_server):
    phone = new_phone()
    c = conversation(metadata={"channel": "voice", "caller": phone})
    ask = c.texts("青龙乡竹林村的路灯坏了一个月了没人修")
    assert "现在这个号码" in ask and "可以吗" in ask       # place known from the text; callback number read back
    final = c.texts("可以")
    ref = c.tracker()["slots"]["wo_ref"]
    order = get_order(redis_server, ref)
    assert order["spoken_reference"].replace(" ", "") in final   # read out without the TTS gaps
    assert order["channel"] == "voice" and order["place"]["village"] == "竹林村"


def test_duplicate_is_linked_and_the_caller_told(conversation, redis_server):
    first = run(with_service(redis_server.url, lambda svc: svc.create(
        "白沙村河边有人倒垃圾，臭得很", place={"township": "青龙乡", "village": "白沙村"}, channel="voice")))
    c = conversation(metadata={"channel": "wechat"})
    c.texts("白沙村河边有人倒垃圾")
    c.texts(new_phone())
    final = c.texts("对")
    assert "已经有人反映过了" in final and "合并" in final
    mine = get_order(redis_server, c.tracker()["slots"]["wo_ref"])
    assert mine["merged_into"] == first["id"]
    assert mine["id"] in get_order(redis_server, first["id"])["merged_orders"]


def test_court_case_is_refused_with_the_reason_and_no_order(conversation, redis_server):
    before = run(with_service(redis_server.url, lambda svc: svc.list(limit=1000)))["total"]
    c = conversation()
    reply = c.texts("我的案子法院正在审，你们帮我催一下")
    assert "法院" in reply and "不能登记" in reply
    assert c.tracker()["slots"].get("wo_ref") is None
    assert c.tracker()["active_loop"] in ({}, None) or not c.tracker()["active_loop"].get("name")
    after = run(with_service(redis_server.url, lambda svc: svc.list(limit=1000)))["total"]
    assert after == before


def test_progress_query_is_answered_for_the_phone_the_call_comes_from(conversation, redis_server):
    phone = new_phone()
    run(with_service(redis_server.url, lambda svc: svc.create(
        "枫林村的水渠堵了浇不了地", caller_phone=phone, place={"township": "青龙乡", "village": "枫林村"},
        category="政务类", type="求助", urgency="一般")))
    c = conversation(metadata={"channel": "voice", "caller": phone})
    reply = c.texts("我上次反映的事办得怎么样了")
    assert "反映的" in reply and "水渠" in reply and "预计" in reply
    assert phone not in reply


def _filed(redis_server, phone):
    return run(with_service(redis_server.url, lambda svc: svc.create(
        "枫林村的水渠堵了浇不了地", caller_phone=phone, place={"township": "青龙乡", "village": "枫林村"},
        category="政务类", type="求助", urgency="一般")))


def test_chat_user_proves_the_phone_with_a_code_sent_by_sms(conversation, redis_server, sms_gateway):
    phone = new_phone()
    _filed(redis_server, phone)
    c = conversation(metadata={"channel": "web"})
    c.texts("我的工单到哪一步了")
    reply = c.texts(phone)
    assert "验证码已经用短信发到" in reply and "水渠" not in reply
    code = sms_gateway.last_code(phone)
    assert code and code not in reply
    reply = c.texts(code)
    assert "水渠" in reply and "预计" in reply and phone not in reply


def test_someone_elses_number_without_the_code_reads_nothing(conversation, redis_server, sms_gateway):
    phone = new_phone()
    _filed(redis_server, phone)
    c = conversation(metadata={"channel": "web"})
    c.texts("查进度")
    c.texts(phone)
    code = sms_gateway.last_code(phone)
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    assert "验证码不对" in c.texts(wrong)
    reply = c.say(f"{(int(code) + 2) % 10 ** 6:06d}")
    assert {"event": "handoff", "reason": "verification_failed"} in customs(reply)
    assert "水渠" not in "".join(m.get("text", "") for m in reply)


def test_unsatisfied_rating_opens_rectification(conversation, redis_server):
    phone = new_phone()
    order = completed_order(redis_server, "青龙村的路坑坑洼洼", phone, {"township": "青龙乡", "village": "青龙村"})
    c = conversation(metadata={"channel": "voice", "caller": phone})
    reply = c.texts("我对处理结果不满意")
    assert "重新办理" in reply and "打电话" in reply
    after = get_order(redis_server, order["id"])
    assert after["rating"] == "不满意" and after["state"] == "in_progress"
    queue = run(with_service(redis_server.url, lambda svc: svc.store.supervision_queue(1000)))
    assert any(e["order_id"] == order["id"] and e["kind"] == "rectification" for e in queue)


def test_progress_of_a_finished_order_asks_for_a_keypad_rating(conversation, redis_server):
    phone = new_phone()
    order = completed_order(redis_server, "白沙村的自来水是黄的", phone, {"township": "青龙乡", "village": "白沙村"})
    c = conversation(metadata={"channel": "voice", "caller": phone})
    reply = c.texts("查进度")
    assert "办完" in reply and "满意吗" in reply
    assert "谢谢" in c.texts("2")
    assert get_order(redis_server, order["id"])["rating"] == "满意"
