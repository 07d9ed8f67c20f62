"""Intake in the store (workorders/store.py create_new): reference numbers, and the duplicate search on the
per-place summaries (P:dup) with orders written before the summaries existed."""
from __future__ import annotations

from tests.workorders.conftest import CLERK, DISPATCHER

PLACE = {"township": "城关镇", "village": "东风村"}
FIELDS = dict(category="政务类", type="求助", urgency="一般", place=PLACE)
LAMP = "东风村村口路灯坏了一个星期，晚上走路很危险"


async def test_a_lost_sequence_never_reuses_a_reference_number(svc, aredis):
    first = await svc.create(LAMP, actor=CLERK, **FIELDS)
    second = await svc.create("村道坑洼积水", actor=CLERK, **FIELDS)
    await aredis.delete(svc.store.k("seq", first["id"][5:13]))  # as if the counter had not been persisted
    third = await svc.create("自来水发黄", actor=CLERK, **FIELDS)
    assert third["id"] > second["id"] > first["id"]
    assert (await svc.get(first["id"]))["text"] == first["text"]
    assert (await svc.get(second["id"]))["text"] == second["text"]


async def test_duplicates_are_found_among_orders_written_before_the_summaries(svc, aredis):
    old = await svc.create(LAMP, actor=CLERK, **FIELDS)
    await aredis.delete(svc.store.k("dup", "东风村"))  # data of an earlier version: the order only
    repeat = await svc.create("东风村村口的路灯坏了好几天了，晚上很黑", actor=CLERK, **FIELDS)
    assert repeat["possible_duplicate_of"] == old["id"]
    found = await svc.find_duplicate(repeat["text"], PLACE, category="政务类", exclude=repeat["id"])
    assert found["id"] == old["id"]


async def test_the_summary_follows_a_correction_and_leaves_with_the_open_order(svc):
    first = await svc.create("村道坑洼积水，希望尽快修补", actor=CLERK, **FIELDS)
    await svc.correct(first["id"], CLERK, text=LAMP, place=PLACE)
    again = await svc.create(LAMP, actor=CLERK, **FIELDS)
    assert again["possible_duplicate_of"] == first["id"]
    await svc.transition(again["id"], "merge", DISPATCHER, master_id=first["id"])
    third = await svc.create(LAMP, actor=CLERK, **FIELDS)
    assert third["possible_duplicate_of"] == first["id"]  # the merged order is no longer a candidate
    members = await svc.store.dup_candidates("东风村", 0, 2 ** 40)
    assert {oid for oid, _ in members} == {first["id"], third["id"]}
