"""Report counters kept at write time give exactly the reports computed from the orders themselves:
after random lifecycles spread over weeks (merges, returns, reopenings, ratings), for whole and partial
periods, by unit and by department; and a rebuild from the stored orders gives the same counters."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from tests.workorders.conftest import CLERK, DISPATCHER, HANDLER, OTHER_HANDLER, SUPERVISOR
from workorders import hotspots, kpi
from workorders.model import WorkOrderError

UNITS = {"U1": HANDLER, "U2": OTHER_HANDLER}
PATHS = [
    [],
    ["sign"],
    ["sign", "start", "reply"],
    ["sign", "start", "reply", "complete"],
    ["sign", "start", "reply", "complete", "callback_ok", "rate_good", "archive"],
    ["sign", "start", "reply", "complete", "callback_bad", "reopen", "reply", "complete"],
    ["sign", "start", "reply", "complete", "rate_bad"],
    ["return"],
    ["merge"],
]


async def step(svc, order, name, unit, master_id):
    handler = UNITS[unit]
    actions = {
        "sign": ("sign", handler, {}), "start": ("start", handler, {}),
        "reply": ("reply", handler, {"reply": "已经处理好了"}), "complete": ("complete", DISPATCHER, {}),
        "callback_ok": ("callback", DISPATCHER, {"satisfied": True}),
        "callback_bad": ("callback", DISPATCHER, {"satisfied": False}), "reopen": ("reopen", DISPATCHER, {}),
        "archive": ("archive", DISPATCHER, {}), "rate_good": ("rate", CLERK, {"level": "满意"}),
        "rate_bad": ("rate", CLERK, {"level": "不满意"}), "return": ("return", handler, {"reason": "不属于本单位职责"}),
        "merge": ("merge", SUPERVISOR, {"master_id": master_id}),
    }
    action, actor, data = actions[name]
    return await svc.transition(order["id"], action, actor, **data)


async def build(svc, clock, n=40, seed=7):
    rng = random.Random(seed)
    first = None
    for i in range(n):
        clock.advance(hours=rng.choice([1, 5, 13, 30, 72, 100]))  # ~2 months: whole months too
        village = rng.choice(["东风村", "红旗村", "河湾村"])
        o = await svc.create(f"第{i}件：{village}路灯坏了", actor=CLERK, category=rng.choice(["政务类", "投诉类"]),
                             type="求助", urgency="一般", place={"township": "城关镇", "village": village},
                             matter_id=rng.choice(["M-light", "M-road"]))
        first = first or o
        unit = rng.choice(list(UNITS))
        o = await svc.transition(o["id"], "dispatch", DISPATCHER, unit_id=unit, department=f"dept-{unit}")
        for name in rng.choice(PATHS):
            try:
                o = await step(svc, o, name, unit, first["id"])
            except WorkOrderError:
                break
    return first


async def test_counters_equal_reports_computed_from_the_orders(svc, clock):
    first = await build(svc, clock)
    orders = (await svc.list(limit=10 ** 6))["items"]
    assert any(o["state"] == "merged" for o in orders) and any(o.get("reopened_count") for o in orders)
    t0 = first["created_at"]
    assert (clock() - datetime.fromisoformat(t0)).days > 45  # a whole calendar month lies inside
    assert t0 < "2026-04-03" and clock().isoformat() > "2026-04-30"
    periods = [(None, None), (t0, None), (None, clock().isoformat()),
               ((clock() - timedelta(days=9, hours=5)).isoformat(), (clock() - timedelta(days=2, hours=7)).isoformat()),
               ("2026-04-03T05:30:00+08:00", "2026-04-29T10:00:00+08:00")]  # most of a month: month minus days
    for since, until in periods:
        for group_by in ("unit", "department"):
            report = await kpi.kpi_report(svc, group_by, since, until)
            expected = kpi.compute(orders, group_by, since, until)
            rows = [{k: v for k, v in row.items() if k != "name"} for row in report["rows"]]  # name: directory
            assert rows == expected, (since, until, group_by)
    own = await kpi.kpi_report(svc, "unit", unit="U2")
    assert [r["key"] for r in own["rows"]] == ["U2"]
    now = clock()
    assert await hotspots.hotspots_report(svc, weeks=4, now=now) == hotspots.compute(orders, now, 4)


async def test_rebuild_gives_the_same_counters(svc, clock, aredis):
    await build(svc, clock, n=15, seed=3)
    keys = sorted([k async for k in aredis.scan_iter(match=svc.store.k("rep", "*"))])
    before = {k: await aredis.hgetall(k) for k in keys}
    assert not await svc.store.reports_ready()
    counted = await svc.store.rebuild_reports(batch=4)
    assert counted == 15 and await svc.store.reports_ready()
    after = {k: await aredis.hgetall(k) for k in keys}
    # zero counters are left out by a rebuild; every non-zero counter is identical
    assert {k: {f: v for f, v in h.items() if int(v)} for k, h in before.items()} == \
        {k: {f: v for f, v in h.items() if int(v)} for k, h in after.items()}


def test_a_period_is_covered_by_years_months_days_and_partial_days_exactly_once():
    from workorders.calendar import TZ
    from workorders.store import _buckets

    lo, hi = datetime(2025, 12, 30, 21, 40, tzinfo=TZ), datetime(2027, 2, 3, 2, 15, tzinfo=TZ)
    buckets, partial = _buckets(lo, hi)
    assert buckets == ["h2025123022", "h2025123023", "d20251231", "y2026", "m202701", "d20270201", "d20270202",
                       "h2027020300", "h2027020301"]
    assert partial == [(lo, datetime(2025, 12, 30, 22, tzinfo=TZ)), (datetime(2027, 2, 3, 2, tzinfo=TZ), hi)]


def test_most_of_a_month_is_read_as_the_month_minus_the_other_days():
    from workorders.store import _signed

    days = [f"d202604{d:02d}" for d in range(4, 29)]          # 4..28 April wanted, with hours of the 3rd
    signed = _signed(["h2026040310", "h2026040311", *days, "h2026042900"])
    assert signed == [("h2026040310", 1), ("h2026040311", 1), ("m202604", 1),
                      *[(f"d202604{d:02d}", -1) for d in (1, 2, 3, 29, 30)], ("h2026042900", 1)]


async def test_index_sets_of_older_data_become_sorted_sets(svc, clock, aredis):
    await build(svc, clock, n=8, seed=5)
    before = (await svc.list(state="dispatched", limit=100))["items"]
    for key in [k async for k in aredis.scan_iter(match=svc.store.k("idx", "*"))]:
        if (await aredis.type(key)) == b"zset" and b":idx:all" not in key and b":idx:dup:" not in key \
                and b":idx:deadline" not in key:
            members = await aredis.zrange(key, 0, -1)  # as older versions stored them: plain sets
            await aredis.delete(key)
            await aredis.sadd(key, *members)
    assert await svc.store.migrate_indexes() > 0
    assert await svc.store.migrate_indexes() == 0
    after = (await svc.list(state="dispatched", limit=100))["items"]
    assert [o["id"] for o in after] == [o["id"] for o in before] and before
