"""Lifecycle through WorkOrderService on the real Redis."""
from __future__ import annotations

import pytest

from tests.workorders.conftest import CLERK, DISPATCHER, HANDLER, OTHER_HANDLER, SUPERVISOR
from workorders.lifecycle import TRANSITIONS
from workorders.model import STATES, Forbidden, IllegalTransition, WorkOrderError

BASE = dict(category="政务类", type="求助", urgency="一般", place={"township": "城关镇", "village": "东风村"})


async def new_order(svc, text="东风村村口路灯坏了一个星期，晚上走路很危险", **kw):
    fields = {**BASE, "caller_name": "张三", "caller_phone": "13800001111", **kw}
    return await svc.create(text, actor=CLERK, **fields)


async def to_state(svc, oid, upto):
    steps = [("dispatch", DISPATCHER, {"unit_id": "U1"}), ("sign", HANDLER, {}), ("start", HANDLER, {}),
             ("reply", HANDLER, {"reply": "已更换灯泡，恢复照明"}), ("complete", DISPATCHER, {}),
             ("callback", DISPATCHER, {"satisfied": True}), ("archive", DISPATCHER, {})]
    order = None
    for action, actor, data in steps:
        order = await svc.transition(oid, action, actor, **data)
        if order["state"] == upto:
            break
    return order


async def test_happy_path_to_archive(svc):
    order = await new_order(svc)
    assert order["id"].startswith("1234520260302") and len(order["id"]) == 17
    assert order["state"] == "accepted" and order["_created"]
    assert "幺 二 三 四 五" in order["spoken_reference"]
    final = await to_state(svc, order["id"], "archived")
    assert final["state"] == "archived"
    events = await svc.events(order["id"])
    assert [e["action"] for e in events] == ["create", "dispatch", "sign", "start", "reply", "complete",
                                             "callback", "archive"]
    assert [e["seq"] for e in events] == list(range(1, 9))
    assert (await svc.verify(order["id"])).ok


async def test_pii_is_encrypted_at_rest(svc, aredis, prefix):
    order = await new_order(svc, caller_id_number="11010519491231002X", address_detail="东风村3组12号",
                            text="我电话13800001111，东风村路灯坏了")
    raw = (await aredis.get(f"{prefix}:order:{order['id']}")).decode()
    events = b"".join(await aredis.lrange(f"{prefix}:events:{order['id']}", 0, -1)).decode()
    for secret in ("张三", "13800001111", "11010519491231002X", "东风村3组12号"):
        assert secret not in raw and secret not in events
    full = svc.present(order, None)
    assert full["caller"]["phone"] == "13800001111" and "13800001111" in full["text"]
    masked = svc.present(order, DISPATCHER)
    assert masked["caller"] == {"name": "张*", "phone": "138****1111", "id_number": "110105********002X",
                                "address_detail": "***"}
    assert "13800001111" not in masked["text"]


@pytest.mark.parametrize("state", ["accepted", "dispatched", "signed", "in_progress", "replied",
                                   "completed", "callback_done", "archived"])
async def test_every_illegal_transition_is_refused(svc, state):
    order = await new_order(svc)
    if state != "accepted":
        order = await to_state(svc, order["id"], state)
    assert order["state"] == state
    before_events = len(await svc.events(order["id"]))
    illegal = [a for a, (sources, _) in TRANSITIONS.items() if state not in sources]
    assert illegal
    for action in illegal:
        with pytest.raises(IllegalTransition) as err:
            await svc.transition(order["id"], action, {"username": "root", "role": "system"},
                                 unit_id="U1", reply="x" * 5, reason="理由充分", satisfied=True,
                                 master_id="x", level="满意", answer="答复内容")
        assert err.value.code == "illegal_transition" and err.value.status == 409
        assert "不能执行" in err.value.message
    assert len(await svc.events(order["id"])) == before_events
    assert (await svc.get(order["id"]))["state"] == state
    assert set(STATES) >= {state}


async def test_return_needs_reason_and_goes_back_for_redispatch(svc):
    order = await new_order(svc)
    await svc.transition(order["id"], "dispatch", DISPATCHER, unit_id="U1")
    with pytest.raises(WorkOrderError) as err:
        await svc.transition(order["id"], "return", HANDLER, reason=" ")
    assert err.value.code == "reason_required"
    with pytest.raises(Forbidden):
        await svc.transition(order["id"], "return", OTHER_HANDLER, reason="不属于本单位职责")
    back = await svc.transition(order["id"], "return", HANDLER, reason="路灯归供电所管理，不属于本单位职责")
    assert back["state"] == "accepted" and back["lead_unit_id"] is None
    assert back["returns"][0]["unit_id"] == "U1"
    assert (await svc.list(unit="U1"))["total"] == 0
    again = await svc.transition(order["id"], "dispatch", DISPATCHER, unit_id="U2")
    assert again["state"] == "dispatched" and again["lead_unit_id"] == "U2"
    assert (await svc.list(unit="U2"))["items"][0]["id"] == order["id"]


async def test_extension_before_and_after_deadline(svc, clock):
    order = await new_order(svc)  # Mon 2026-03-02 09:00, 15 working days -> Mon 2026-03-23
    assert order["deadline"] == "2026-03-23T23:59:59+08:00"
    await to_state(svc, order["id"], "in_progress")
    with pytest.raises(WorkOrderError):
        await svc.transition(order["id"], "request_extension", HANDLER)  # no reason
    await svc.transition(order["id"], "request_extension", HANDLER, reason="需要协调供电所更换线路")
    with pytest.raises(Forbidden):
        await svc.transition(order["id"], "approve_extension", DISPATCHER)
    ok = await svc.transition(order["id"], "approve_extension", SUPERVISOR)
    assert ok["deadline"] == "2026-04-01T23:59:59+08:00"  # +7 working days
    assert ok["extensions_used"] == 1
    with pytest.raises(WorkOrderError) as err:
        await svc.transition(order["id"], "request_extension", HANDLER, reason="还要再延期")
    assert err.value.code == "extension_limit"

    late = await new_order(svc, text="另一件事：河道垃圾堆积无人清理")
    await to_state(svc, late["id"], "in_progress")
    clock.advance(days=30)
    with pytest.raises(WorkOrderError) as err:
        await svc.transition(late["id"], "request_extension", HANDLER, reason="来不及了")
    assert err.value.code == "deadline_passed"


async def test_refused_extension_keeps_deadline(svc):
    order = await new_order(svc)
    await to_state(svc, order["id"], "signed")
    await svc.transition(order["id"], "request_extension", HANDLER, reason="需要现场勘查")
    refused = await svc.transition(order["id"], "refuse_extension", SUPERVISOR, note="理由不足")
    assert refused["deadline"] == order["deadline"]
    assert refused["extension_request"]["status"] == "refused"


async def test_reopen_after_unsatisfied_callback(svc, clock):
    order = await new_order(svc)
    await to_state(svc, order["id"], "completed")
    with pytest.raises(WorkOrderError):
        await svc.transition(order["id"], "reopen", DISPATCHER)  # no unsatisfied callback yet
    clock.advance(days=3)  # Thu 2026-03-05
    cb = await svc.transition(order["id"], "callback", DISPATCHER, satisfied=False, note="灯还是不亮")
    with pytest.raises(WorkOrderError) as err:
        await svc.transition(order["id"], "archive", DISPATCHER)
    assert err.value.code == "archive_needs_reopen"
    again = await svc.transition(cb["id"], "reopen", DISPATCHER)
    assert again["state"] == "in_progress" and again["lead_unit_id"] == "U1"
    assert again["deadline"] == "2026-03-12T23:59:59+08:00" and again["reopened_count"] == 1
    await svc.transition(order["id"], "reply", HANDLER, reply="已更换线路")
    await svc.transition(order["id"], "complete", DISPATCHER)
    await svc.transition(order["id"], "callback", DISPATCHER, satisfied=True)
    assert (await svc.transition(order["id"], "archive", DISPATCHER))["state"] == "archived"


async def test_merge_duplicate_into_master(svc):
    master = await new_order(svc)
    dup = await new_order(svc, text="东风村村口的路灯坏了好几天了，晚上很黑")
    assert dup["possible_duplicate_of"] == master["id"]
    with pytest.raises(WorkOrderError):
        await svc.transition(dup["id"], "merge", DISPATCHER, master_id=dup["id"])
    merged = await svc.transition(dup["id"], "merge", DISPATCHER, master_id=master["id"])
    assert merged["state"] == "merged" and merged["merged_into"] == master["id"]
    assert (await svc.get(master["id"]))["merged_orders"] == [dup["id"]]
    assert (await svc.verify(master["id"])).ok
    with pytest.raises(IllegalTransition):
        await svc.transition(dup["id"], "dispatch", DISPATCHER, unit_id="U1")


async def test_instant_answer_closes_at_intake(svc):
    order = await svc.create("请问新生儿医保在哪里办理？", category="咨询类", type="咨询", urgency="一般",
                             actor=CLERK, instant_answer="带户口簿到镇便民服务中心医保窗口办理，当场可办。")
    assert order["state"] == "completed" and order["instant"] and order["on_time"]
    assert [e["action"] for e in await svc.events(order["id"])] == ["create", "instant_answer"]
    with pytest.raises(WorkOrderError) as err:
        await svc.create("路灯坏了", **BASE, actor=CLERK, instant_answer="好的")
    assert err.value.code == "instant_needs_consultation"


async def test_create_is_idempotent_by_client_request_id(svc):
    a = await new_order(svc, client_request_id="conv-1-turn-3")
    b = await new_order(svc, client_request_id="conv-1-turn-3")
    assert a["id"] == b["id"] and a["_created"] and not b["_created"]
    assert (await svc.list())["total"] == 1


async def test_concurrent_idempotent_create(svc):
    import asyncio

    results = await asyncio.gather(*[new_order(svc, client_request_id="same-request") for _ in range(10)])
    assert len({r["id"] for r in results}) == 1
    assert (await svc.list())["total"] == 1


async def test_duplicate_detection_respects_place_category_text_and_window(svc, clock):
    first = await new_order(svc)
    other_place = await new_order(svc, place={"township": "城关镇", "village": "红旗村"})
    assert "possible_duplicate_of" not in other_place
    other_cat = await new_order(svc, category="投诉类", type="投诉")
    assert "possible_duplicate_of" not in other_cat
    unrelated = await new_order(svc, text="东风村小学门口经常有货车超速")
    assert "possible_duplicate_of" not in unrelated
    clock.advance(days=8)
    late = await new_order(svc)
    assert "possible_duplicate_of" not in late
    assert (await svc.find_duplicate(first["text"], BASE["place"], category="政务类"))["id"] == late["id"]


async def test_bad_input(svc):
    with pytest.raises(WorkOrderError) as err:
        await svc.create("   ", actor=CLERK)
    assert err.value.status == 400
    with pytest.raises(WorkOrderError) as err:
        await svc.create("路灯坏了", category="火星类", actor=CLERK)
    assert err.value.code == "bad_field"
    with pytest.raises(WorkOrderError) as err:
        await svc.create("路灯坏了", caller_phone="12", actor=CLERK)
    assert err.value.code == "bad_phone"
    with pytest.raises(Forbidden):
        await svc.create("路灯坏了", actor=HANDLER)
    with pytest.raises(WorkOrderError) as err:
        await svc.get("nope")
    assert err.value.status == 404


async def test_progress_for_caller(svc):
    order = await new_order(svc)
    await svc.transition(order["id"], "dispatch", DISPATCHER, unit_id="U1")
    await new_order(svc, text="另一件：自来水发黄", caller_phone="13900002222")
    bad = await svc.progress_for_caller("0000", "13800001111")
    assert not bad["verified"] and bad["orders"] == []
    res = await svc.progress_for_caller("1111", "138 0000 1111")
    assert res["verified"] and [o["id"] for o in res["orders"]] == [order["id"]]
    assert "派单" in res["orders"][0]["message"] and order["id"] in res["message"]
    with pytest.raises(WorkOrderError):
        await svc.progress_for_caller("11", "13800001111")



async def test_offered_actions_follow_state_role_unit_and_extension_history(svc):
    """`actions` (what the consoles draw as buttons) is what the state machine, the order's history, the
    viewer's role and unit allow: after the one extension, 申请延期 is no longer offered."""
    order = await new_order(svc)
    assert svc.present(order, DISPATCHER)["actions"] == ["instant_answer", "dispatch", "merge"]
    assert svc.present(order, HANDLER)["actions"] == []
    order = await svc.transition(order["id"], "dispatch", DISPATCHER, unit_id="U1")
    assert svc.present(order, HANDLER)["actions"] == ["sign", "return", "request_extension"]
    assert svc.present(order, OTHER_HANDLER)["actions"] == []
    order = await svc.transition(order["id"], "request_extension", HANDLER, reason="需要协调供电所更换线路")
    assert svc.present(order, HANDLER)["actions"] == ["sign", "return"]
    assert svc.present(order, SUPERVISOR)["actions"] == ["approve_extension", "refuse_extension", "supervise", "merge"]
    order = await svc.transition(order["id"], "approve_extension", SUPERVISOR)
    assert svc.present(order, HANDLER)["actions"] == ["sign", "return"]
