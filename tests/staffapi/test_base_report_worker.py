"""The order list, KPIs and hot spots computed in the report worker process (staffapi.base.ReportWorker) are
what the event loop computes itself, for the same viewer."""
from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from staffapi.app import create_app
from tests.staffapi.test_app import ORDER, Api, users
from workorders import auth
from workorders.service import WorkOrderService

PATHS = ["/api/kpi", "/api/kpi?group_by=department", "/api/orders?limit=5", "/api/orders?state=dispatched&unit=U1",
         "/api/orders?q=自来水", "/api/hotspots", "/api/hotspots?format=csv"]


async def _serve(svc, report_worker: bool) -> Api:
    app = create_app(service=svc, users=users(), signer=auth.TokenSigner(b"k" * 32), run_scheduler=False,
                     report_worker=report_worker)
    client = TestClient(TestServer(app))
    await client.start_server()
    return Api(client)


@pytest.fixture
def real_clock_svc(aredis, prefix):
    """The real clock on both sides: the worker's service has no test clock."""
    return WorkOrderService(aredis, prefix=prefix, classifier=None, router=None)


async def test_reports_from_the_worker_process_match_the_loop(real_clock_svc, redis_server, monkeypatch):
    monkeypatch.setenv("REDIS_URL", redis_server.url)  # the worker connects as `python -m staffapi` would
    svc = real_clock_svc
    in_loop, worker = await _serve(svc, False), await _serve(svc, True)
    try:
        s, a = await in_loop.call("POST", "/api/orders", "clerk", json=ORDER)
        s, b = await in_loop.call("POST", "/api/orders", "clerk", json={**ORDER, "text": "自来水发黄",
                                                                        "category": "投诉类", "type": "投诉",
                                                                        "urgency": "紧急"})
        await in_loop.call("POST", f"/api/orders/{a['id']}/actions/dispatch", "dispatcher", json={"unit_id": "U1"})
        for who in ("dispatcher", "supervisor", "handler"):
            for path in PATHS:
                expected = await in_loop.call("GET", path, who)
                assert await worker.call("GET", path, who) == expected, (who, path)
        s, body = await worker.call("GET", "/api/orders?q=自来水", "dispatcher")
        assert s == 200 and [o["id"] for o in body["items"]] == [b["id"]]
    finally:
        await in_loop.c.close()
        await worker.c.close()
