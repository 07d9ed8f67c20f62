"""Scheduler 督办/预警 idempotency, KPIs on a known set, hotspots and rating rectification."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.workorders.conftest import CLERK, DISPATCHER, HANDLER, OTHER_HANDLER
from workorders import hotspots, kpi, scheduler
from workorders.calendar import TZ
from workorders.model import WorkOrderError
from workorders.rating import normalize_level

BASE = dict(category="政务类", type="求助", urgency="一般")


async def make(svc, text="路面塌陷需要修补", unit="U1", village="东风村", **kw):
    o = await svc.create(text, actor=CLERK, place={"township": "城关镇", "village": village}, **{**BASE, **kw})
    if unit:
        o = await svc.transition(o["id"], "dispatch", DISPATCHER, unit_id=unit)
    return o


async def test_scheduler_raises_supervision_exactly_once(svc, clock):
    o = await make(svc)  # dispatched Mon 09:00; sign by Tue 23:59:59
    assert (await scheduler.run_once(svc))["supervised"] == 0
    clock.set(datetime(2026, 3, 3, 8, tzinfo=TZ))   # within 24 h of the sign deadline
    s1 = await scheduler.run_once(svc)
    assert s1["warned"] == 1 and s1["supervised"] == 0
    assert (await scheduler.run_once(svc))["warned"] == 0
    clock.set(datetime(2026, 3, 4, 9, tzinfo=TZ))   # sign overdue
    s2 = await scheduler.run_once(svc)
    assert s2["supervised"] == 1
    for _ in range(3):
        assert (await scheduler.run_once(svc))["supervised"] == 0
    order = await svc.get(o["id"])
    assert order["supervised"] is True
    kinds = [e["action"] for e in await svc.events(o["id"])]
    assert kinds.count("supervise") == 1 and kinds.count("warn") == 1
    queue = await svc.store.supervision_queue()
    assert [q["kind"] for q in queue] == ["supervise", "warn"]
    assert queue[0]["order_id"] == o["id"] and queue[0]["trigger"].startswith("overdue:sign:")
    listing = await svc.list(overdue=True)
    assert [x["id"] for x in listing["items"]] == [o["id"]]
    # once signed, the sign deadline stops; the handling deadline is far away: nothing new
    await svc.transition(o["id"], "sign", HANDLER)
    assert (await scheduler.run_once(svc)) == {"checked": 0, "supervised": 0, "warned": 0}


async def test_scheduler_cli_once(svc, redis_server, prefix, clock):
    import os
    import subprocess
    import sys

    from common.settings import ROOT

    await svc.create("井盖丢失", actor=CLERK, category="政务类", type="求助", urgency="特急")
    # the CLI uses the real clock: 2026-03-02 + 2 h is long past, so the order is overdue now
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "workorders.scheduler", "--once", "--prefix", prefix,
                          "--redis-url", redis_server.url], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "'supervised': 1" in out.stdout


async def test_kpis_on_known_set(svc, clock):
    async def run(o, *steps):
        for action, actor, data in steps:
            o = await svc.transition(o["id"], action, actor, **data)
        return o

    sign, start = ("sign", HANDLER, {}), ("start", HANDLER, {})
    reply, complete = ("reply", HANDLER, {"reply": "已处理完毕"}), ("complete", DISPATCHER, {})
    a = await run(await make(svc, "一号"), sign, start, reply, complete,
                  ("callback", DISPATCHER, {"satisfied": True}), ("rate", CLERK, {"level": "非常满意"}))
    b = await run(await make(svc, "二号"), sign, start, reply, complete, ("rate", CLERK, {"level": "3"}))
    c = await run(await make(svc, "三号"), sign, start, reply, complete, ("rate", CLERK, {"level": "5"}))
    d = await run(await make(svc, "四号"), sign)
    e = await make(svc, "五号")
    clock.advance(days=40)  # f replies late
    f = await run(await make(svc, "六号", unit="U2"), ("sign", OTHER_HANDLER, {}), ("start", OTHER_HANDLER, {}))
    clock.advance(days=40)
    f = await run(f, ("reply", OTHER_HANDLER, {"reply": "迟到的答复"}), complete)
    rows = {r["key"]: r for r in kpi.compute((await svc.list(limit=100))["items"])}
    u1 = rows["U1"]
    assert u1["counts"]["dispatched"] == 5
    assert u1["sign_rate"] == 0.8                    # a b c d signed, e not
    assert u1["reply_rate"] == 0.4                   # a b replied; c back in rectification
    assert u1["completion_rate"] == 0.4
    assert u1["callback_rate"] == 0.5                # a
    assert u1["quality_rate"] == 1.0                 # a b; c rated 非常不满意 is not completed now
    assert u1["on_time_rate"] == 1.0
    assert u1["satisfaction_rate"] == round(2 / 3, 4)
    assert rows["U2"]["on_time_rate"] == 0.0 and rows["U2"]["satisfaction_rate"] is None
    assert {a["state"], b["state"], c["state"], d["state"], e["state"]} == {
        "callback_done", "completed", "in_progress", "signed", "dispatched"}
    report = await kpi.kpi_report(svc, group_by="department")
    assert report["rows"][0]["counts"]["dispatched"] == 6


async def test_quality_excludes_reopened(svc):
    o = await make(svc)
    for action, actor, data in [("sign", HANDLER, {}), ("start", HANDLER, {}), ("reply", HANDLER, {"reply": "已处理"}),
                                ("complete", DISPATCHER, {}), ("callback", DISPATCHER, {"satisfied": False}),
                                ("reopen", DISPATCHER, {}), ("reply", HANDLER, {"reply": "重新处理"}),
                                ("complete", DISPATCHER, {})]:
        await svc.transition(o["id"], action, actor, **data)
    row = kpi.compute((await svc.list())["items"])[0]
    assert row["completion_rate"] == 1.0 and row["quality_rate"] == 0.0


async def test_hotspots_rising_flag_and_csv(svc, clock):
    start = clock()
    # baseline: 1 order/week for 4 weeks in 东风村 (路灯); then 4 this week -> rising (4 >= 2 x 1)
    for w in range(4):
        clock.set(start + timedelta(weeks=w))
        await make(svc, f"路灯第{w}周", unit=None, matter_id="M-light")
        await make(svc, f"水渠第{w}周", unit=None, village="红旗村", matter_id="M-canal")
        await make(svc, f"水渠第{w}周另件", unit=None, village="红旗村", matter_id="M-canal")
    clock.set(start + timedelta(weeks=4))
    for i in range(4):
        await make(svc, f"路灯本周{i}", unit=None, matter_id="M-light")
        if i < 3:
            await make(svc, f"水渠本周{i}", unit=None, village="红旗村", matter_id="M-canal")
    report = await hotspots.hotspots_report(svc, now=clock())
    rising = {(r["dimension"], r["key"]) for r in report["rising"]}
    assert ("village", "东风村") in rising and ("matter", "M-light") in rising
    assert ("village", "红旗村") not in rising   # 3 this week < 2 x mean 2
    assert report["current_week"] == "2026-W14"
    csv_text = hotspots.to_csv(report)
    assert csv_text.startswith("\ufeffdimension,key,")
    assert "village,东风村," in csv_text and csv_text.count("yes") == len(report["rising"])


@pytest.mark.parametrize("said,level", [("1", "非常满意"), (2, "满意"), ("三", "基本满意"), ("还行吧", "基本满意"),
                                        ("不满意", "不满意"), ("非常不满意！", "非常不满意"), ("很满意", "非常满意"),
                                        ("满意", "满意"), ("5", "非常不满意"), ("按4键", "不满意")])
def test_rating_words_and_digits(said, level):
    assert normalize_level(said) == level


def test_rating_rejects_garbage():
    for bad in ("", "6", "0", "天气不错吗", None):
        if bad == "天气不错吗":
            continue  # contains 不错 -> 满意; spoken words are matched loosely on purpose
        with pytest.raises(WorkOrderError):
            normalize_level(bad)


async def test_bottom_two_rating_creates_rectification(svc, clock):
    o = await make(svc)
    for action, actor, data in [("sign", HANDLER, {}), ("start", HANDLER, {}), ("reply", HANDLER, {"reply": "已处理"}),
                                ("complete", DISPATCHER, {}), ("callback", DISPATCHER, {"satisfied": True}),
                                ("archive", DISPATCHER, {})]:
        await svc.transition(o["id"], action, actor, **data)
    clock.set(datetime(2026, 3, 6, 10, tzinfo=TZ))  # Friday
    rated = await svc.rate(o["id"], "4", channel="sms")
    assert rated["state"] == "in_progress" and rated["rating"] == "不满意"
    assert rated["rectification"]["status"] == "open" and rated["deadline_kind"] == "rectification"
    assert rated["deadline"] == "2026-03-13T23:59:59+08:00" and rated["callback_required"]
    queue = await svc.store.supervision_queue()
    assert queue[0]["kind"] == "rectification" and queue[0]["order_id"] == o["id"]
    # the mandatory callback: cannot archive without passing through reply -> complete -> callback
    with pytest.raises(WorkOrderError):
        await svc.transition(o["id"], "archive", DISPATCHER)
    await svc.transition(o["id"], "reply", HANDLER, reply="已整改")
    await svc.transition(o["id"], "complete", DISPATCHER)
    done = await svc.transition(o["id"], "callback", DISPATCHER, satisfied=True)
    assert done["rectification"]["status"] == "closed" and not done["callback_required"]
    good = await make(svc, "另一件")
    for action, actor, data in [("sign", HANDLER, {}), ("start", HANDLER, {}), ("reply", HANDLER, {"reply": "已修好"})]:
        await svc.transition(good["id"], action, actor, **data)
    assert (await svc.rate(good["id"], "满意"))["state"] == "replied"
