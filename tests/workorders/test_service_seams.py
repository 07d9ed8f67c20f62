"""The seam to classify()/route() (the other engineer's modules), with stand-ins injected."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.workorders.conftest import CLERK, DISPATCHER
from workorders.model import WorkOrderError
from workorders.service import WorkOrderService


def fake_classify(text, context=None):
    if "离婚" in text:
        return SimpleNamespace(category="政务类", type="咨询", urgency="一般", emotion="平静", matter_id=None,
                               location=None, refusal="涉诉涉法事项请向法院咨询", emergency=None)
    return SimpleNamespace(category="投诉类", type="投诉", urgency="紧急", emotion="愤怒", matter_id="M-noise",
                           location={"township": "城关镇", "village": "东风村"}, refusal=None, emergency=None)


def fake_route(classification, location, directory):
    return SimpleNamespace(lead_unit_id="U-env", co_unit_ids=["U-police"], level="county",
                           reason_zh="噪音扰民由生态环境部门牵头", department="huanbao")


@pytest.fixture
def seam_svc(aredis, clock, prefix):
    return WorkOrderService(aredis, prefix=prefix, clock=clock, classifier=fake_classify, router=fake_route,
                            directory=None)


async def test_classifier_fills_missing_fields_and_router_suggests(seam_svc):
    o = await seam_svc.create("楼下工地半夜施工太吵了", actor=CLERK, urgency="一般")
    assert (o["category"], o["type"], o["urgency"], o["emotion"]) == ("投诉类", "投诉", "一般", "愤怒")
    assert o["place"] == {"township": "城关镇", "village": "东风村"} and o["matter_id"] == "M-noise"
    assert o["suggestion"]["lead_unit_id"] == "U-env" and o["classification_source"] == "classifier"
    d = await seam_svc.transition(o["id"], "dispatch", DISPATCHER)
    assert d["lead_unit_id"] == "U-env" and d["co_unit_ids"] == ["U-police"]
    assert d["lead_department"] == "huanbao" and d["dispatch_reason"].startswith("噪音")


async def test_refusal_is_422_unless_allowed(seam_svc):
    with pytest.raises(WorkOrderError) as err:
        await seam_svc.create("我想咨询离婚财产怎么分", actor=CLERK)
    assert err.value.status == 422 and "涉诉" in err.value.message
    o = await seam_svc.create("我想咨询离婚财产怎么分", actor=CLERK, allow_refused=True)
    assert o["refusal"]


async def test_broken_collaborators_do_not_stop_intake(aredis, clock, prefix):
    def boom(*a, **k):
        raise RuntimeError("model not loaded")

    svc = WorkOrderService(aredis, prefix=prefix, clock=clock, classifier=boom, router=boom, directory=None)
    o = await svc.create("路灯坏了", actor=CLERK)
    assert o["needs_review"] and o["category"] == "政务类" and "suggestion" not in o
    with pytest.raises(WorkOrderError) as err:
        await svc.transition(o["id"], "dispatch", DISPATCHER)
    assert err.value.code == "unit_required"
