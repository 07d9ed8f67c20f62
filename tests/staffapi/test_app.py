"""Staff API: auth, roles, masking, 4xx cases and the OpenAPI document."""
from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestClient, TestServer

from workorders import auth
from staffapi.app import create_app
from staffapi.openapi import build_openapi, served_routes

USERS = None


def users():
    global USERS
    if USERS is None:
        USERS = auth.load_users([
            {"username": "dispatcher", "password": "dispatcher123", "role": "dispatcher"},
            {"username": "handler", "password": "handler123", "role": "unit_handler", "unit_id": "U1"},
            {"username": "handler2", "password": "handler123", "role": "unit_handler", "unit_id": "U2"},
            {"username": "supervisor", "password": "supervisor123", "role": "supervisor"},
            {"username": "clerk", "password": "clerk123", "role": "clerk"},
            {"username": "admin", "password": "admin123", "role": "admin"},
        ])
    return USERS


class Api:
    def __init__(self, client: TestClient):
        self.c = client
        self.tokens = {}

    async def token(self, who):
        if who not in self.tokens:
            pw = {"handler2": "handler123"}.get(who, f"{who}123")
            r = await self.c.post("/api/login", json={"username": who, "password": pw})
            assert r.status == 200, await r.text()
            self.tokens[who] = (await r.json())["token"]
        return self.tokens[who]

    async def call(self, method, path, who=None, **kw):
        headers = kw.pop("headers", {})
        if who:
            headers["Authorization"] = f"Bearer {await self.token(who)}"
        r = await self.c.request(method, path, headers=headers, **kw)
        body = await r.read()
        try:
            data = json.loads(body)
        except ValueError:
            data = body.decode("utf-8", "replace")
        return r.status, data


@pytest.fixture
async def api(svc):
    app = create_app(service=svc, users=users(), signer=auth.TokenSigner(b"k" * 32), run_scheduler=False)
    client = TestClient(TestServer(app))
    await client.start_server()
    yield Api(client)
    await client.close()


ORDER = {"text": "东风村村口路灯坏了，电话13800001111", "category": "政务类", "type": "求助", "urgency": "一般",
         "caller": {"name": "张三", "phone": "13800001111", "id_number": "11010519491231002X",
                    "address_detail": "东风村3组12号"},
         "place": {"township": "城关镇", "village": "东风村"}}


async def test_health_and_login(api):
    assert await api.call("GET", "/health") == (200, {"status": "ok"})
    status, body = await api.call("POST", "/api/login", json={"username": "clerk", "password": "wrong"})
    assert status == 401 and body["error"] == "bad_credentials" and "密码" in body["message"]
    status, body = await api.call("POST", "/api/login", json={"username": "nobody", "password": "x"})
    assert status == 401
    status, body = await api.call("POST", "/api/login", json={"username": "clerk"})
    assert status == 400
    status, body = await api.call("GET", "/api/me", "handler")
    assert status == 200 and body["role"] == "unit_handler" and body["unit_id"] == "U1"


async def test_bad_tokens_are_401(api):
    assert (await api.call("GET", "/api/orders"))[0] == 401
    status, body = await api.call("GET", "/api/orders", headers={"Authorization": "Bearer abc.def"})
    assert status == 401 and body["error"] == "bad_token"
    token = await api.token("clerk")
    payload, sig = token.split(".")
    forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + sig
    assert (await api.call("GET", "/api/orders", headers={"Authorization": f"Bearer {forged}"}))[0] == 401
    expired, _ = auth.TokenSigner(b"k" * 32, ttl=-10).issue(users()["clerk"])
    status, body = await api.call("GET", "/api/orders", headers={"Authorization": f"Bearer {expired}"})
    assert status == 401 and body["error"] == "token_expired"


async def test_full_flow_roles_and_masking(api):
    status, created = await api.call("POST", "/api/orders", "clerk", json=ORDER)
    assert status == 201 and created["created"]
    assert created["caller"]["id_number"] == "11010519491231002X"   # clerk's creation echo
    assert created["caller"]["phone"] == "138****1111" and created["caller"]["name"] == "张*"
    oid = created["id"]
    status, got = await api.call("GET", f"/api/orders/{oid}", "clerk")
    assert got["caller"]["id_number"] == "110105********002X"
    assert "13800001111" not in json.dumps(got, ensure_ascii=False)
    status, got = await api.call("GET", f"/api/orders/{oid}", "supervisor")
    assert got["caller"]["phone"] == "13800001111" and got["caller"]["id_number"] == "110105********002X"
    # wrong role for an action -> 403; illegal transition -> 409
    status, body = await api.call("POST", f"/api/orders/{oid}/actions/dispatch", "clerk", json={"unit_id": "U1"})
    assert status == 403 and body["error"] == "forbidden"
    assert (await api.call("POST", f"/api/orders/{oid}/actions/sign", "handler"))[0] == 403  # not its unit yet
    status, body = await api.call("POST", f"/api/orders/{oid}/actions/sign", "admin")
    assert status == 409 and body["error"] == "illegal_transition" and "不能执行" in body["message"]
    status, body = await api.call("POST", f"/api/orders/{oid}/actions/dispatch", "dispatcher", json={"unit_id": "U1"})
    assert status == 200 and body["state"] == "dispatched" and body["caller"]["phone"] == "138****1111"
    # unit handlers: own unit in clear, other units cannot see it
    status, body = await api.call("GET", f"/api/orders/{oid}", "handler")
    assert status == 200 and body["caller"]["phone"] == "13800001111" and body["caller"]["name"] == "张三"
    assert body["caller"]["id_number"] == "110105********002X"
    assert (await api.call("GET", f"/api/orders/{oid}", "handler2"))[0] == 403
    assert (await api.call("GET", "/api/orders", "handler2"))[1]["total"] == 0
    assert (await api.call("GET", "/api/orders", "handler"))[1]["total"] == 1
    assert (await api.call("POST", f"/api/orders/{oid}/actions/sign", "handler2"))[0] == 403
    for action, who, body in [("sign", "handler", None), ("start", "handler", None),
                              ("reply", "handler", {"reply": "已修复路灯"}), ("complete", "dispatcher", None),
                              ("callback", "dispatcher", {"satisfied": True}), ("archive", "dispatcher", None)]:
        status, res = await api.call("POST", f"/api/orders/{oid}/actions/{action}", who, json=body)
        assert status == 200, res
    assert res["state"] == "archived" and res["state_label"] == "归档"
    status, ev = await api.call("GET", f"/api/orders/{oid}/events", "supervisor")
    assert [e["action"] for e in ev["events"]][-1] == "archive"
    assert "13800001111" not in json.dumps(ev, ensure_ascii=False)
    status, ver = await api.call("GET", f"/api/orders/{oid}/verify", "supervisor")
    assert status == 200 and ver["ok"] and ver["events"] == 8
    assert (await api.call("GET", f"/api/orders/{oid}/verify", "clerk"))[0] == 403


async def test_idempotent_create_over_http(api):
    s1, a = await api.call("POST", "/api/orders", "clerk", json={**ORDER, "client_request_id": "web-1"})
    s2, b = await api.call("POST", "/api/orders", "clerk", json=ORDER, headers={"Idempotency-Key": "web-1"})
    assert (s1, s2) == (201, 200) and a["id"] == b["id"] and not b["created"]
    assert b["caller"]["id_number"] == "110105********002X"  # no clear ID on a repeat


async def test_4xx_cases(api):
    status, body = await api.call("POST", "/api/orders", "clerk", data=b"{not json",
                                  headers={"Content-Type": "application/json"})
    assert status == 400 and body["error"] == "bad_json"
    status, body = await api.call("POST", "/api/orders", "clerk", json=[1, 2])
    assert status == 400
    status, body = await api.call("POST", "/api/orders", "clerk", json={"text": 5})
    assert status == 400 and body["error"] == "text_required"
    status, body = await api.call("POST", "/api/orders", "clerk", json={**ORDER, "category": "x"})
    assert status == 400 and body["error"] == "bad_field"
    status, body = await api.call("POST", "/api/orders", "clerk", json={**ORDER, "caller": "张三"})
    assert status == 400
    status, body = await api.call("POST", "/api/orders", "clerk",
                                  data=json.dumps({"text": "长" * 70000}).encode(),
                                  headers={"Content-Type": "application/json"})
    assert status == 413 and body["error"] == "body_too_large" and "过大" in body["message"]
    status, body = await api.call("GET", "/api/orders/12345209901010001", "clerk")
    assert status == 404 and body["error"] == "order_not_found"
    assert (await api.call("POST", "/api/orders/1/actions/fly", "admin"))[0] == 404
    assert (await api.call("GET", "/api/orders?overdue=maybe", "clerk"))[0] == 400
    assert (await api.call("GET", "/api/orders?since=yesterday", "clerk"))[0] == 400
    assert (await api.call("GET", "/api/orders?state=done", "clerk"))[0] == 400
    assert (await api.call("GET", "/api/orders?limit=0", "clerk"))[0] == 400
    assert (await api.call("GET", "/api/kpi", "clerk"))[0] == 403
    assert (await api.call("GET", "/api/hotspots?format=xml", "dispatcher"))[0] == 400
    assert (await api.call("GET", "/api/nope", "clerk"))[0] == 404
    assert (await api.call("DELETE", "/api/orders", "clerk"))[0] == 405
    s, created = await api.call("POST", "/api/orders", "clerk", json=ORDER)
    status, body = await api.call("POST", f"/api/orders/{created['id']}/actions/dispatch", "dispatcher",
                                  json={"unit_id": "U1", "trigger": "forged"})
    assert status == 400 and body["error"] == "bad_field"
    status, body = await api.call("POST", f"/api/orders/{created['id']}/actions/return", "dispatcher",
                                  json={"reason": "x"})
    assert status == 409  # accepted -> return is not a legal transition


async def test_filters_kpi_hotspots_supervision(api, clock):
    s, a = await api.call("POST", "/api/orders", "clerk", json=ORDER)
    s, b = await api.call("POST", "/api/orders", "clerk", json={**ORDER, "text": "自来水发黄", "category": "投诉类",
                                                                "type": "投诉", "urgency": "紧急"})
    await api.call("POST", f"/api/orders/{a['id']}/actions/dispatch", "dispatcher", json={"unit_id": "U1"})
    s, res = await api.call("GET", "/api/orders?category=投诉类", "dispatcher")
    assert [o["id"] for o in res["items"]] == [b["id"]]
    s, res = await api.call("GET", "/api/orders?state=dispatched&unit=U1", "dispatcher")
    assert [o["id"] for o in res["items"]] == [a["id"]]
    s, res = await api.call("GET", "/api/orders?q=自来水", "dispatcher")
    assert [o["id"] for o in res["items"]] == [b["id"]]
    # a console's queue: the orders whose state allows the action (no state names in the consoles)
    s, res = await api.call("GET", "/api/orders?action=dispatch", "dispatcher")
    assert [o["id"] for o in res["items"]] == [b["id"]]
    s, res = await api.call("GET", "/api/orders?action=merge", "dispatcher")   # several states
    assert sorted(o["id"] for o in res["items"]) == sorted([a["id"], b["id"]])
    s, res = await api.call("GET", "/api/orders?action=merge&q=自来水", "dispatcher")
    assert [o["id"] for o in res["items"]] == [b["id"]]
    s, res = await api.call("GET", "/api/orders?action=dispatch&state=dispatched", "dispatcher")
    assert res == {"total": 0, "items": []}
    assert (await api.call("GET", "/api/orders?action=fly", "dispatcher"))[0] == 400
    s, res = await api.call("GET", "/api/orders?since=2026-03-03", "dispatcher")
    assert res["total"] == 0
    clock.advance(days=2)
    s, res = await api.call("GET", "/api/orders?overdue=true", "dispatcher")
    assert {o["id"] for o in res["items"]} == {a["id"], b["id"]}  # a: sign overdue, b: 紧急 24 h
    s, res = await api.call("GET", "/api/kpi", "dispatcher")
    assert s == 200 and res["rows"][0]["key"] == "U1" and res["rows"][0]["sign_rate"] == 0.0
    s, res = await api.call("GET", "/api/kpi", "handler2")
    assert s == 200 and res["rows"] == []
    s, res = await api.call("GET", "/api/hotspots", "supervisor")
    assert s == 200 and res["by"]["village"][0]["key"] == "东风村"
    r = await api.c.get("/api/hotspots?format=csv",
                        headers={"Authorization": f"Bearer {await api.token('supervisor')}"})
    assert r.status == 200 and r.content_type == "text/csv" and "东风村" in await r.text()
    s, res = await api.call("POST", f"/api/orders/{a['id']}/actions/supervise", "supervisor", json={"note": "请加快"})
    assert s == 200 and res["supervised"]
    s, res = await api.call("GET", "/api/supervision", "supervisor")
    assert res["items"][0]["order_id"] == a["id"]
    assert (await api.call("GET", "/api/supervision", "clerk"))[0] == 403


async def test_openapi_lists_every_route(api):
    status, doc = await api.call("GET", "/api/openapi.json")
    assert status == 200 and doc["openapi"].startswith("3.")
    served = served_routes(api.c.app)
    assert len(served) >= 15
    for method, path in served:
        assert method.lower() in doc["paths"].get(path, {}), (method, path)
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert documented == set(served)
    assert doc["paths"]["/api/orders"]["post"]["security"] == [{"bearer": []}]
    assert doc["paths"]["/health"]["get"]["security"] == []
    assert set(doc["paths"]["/api/orders/{order_id}/actions/{action}"]["post"]["parameters"][1]["schema"]["enum"]) \
        >= {"dispatch", "sign", "start", "reply", "complete", "return", "request_extension", "approve_extension",
            "refuse_extension", "supervise", "callback", "reopen", "merge", "archive", "rate"}
    assert build_openapi(api.c.app) == doc


async def test_directory_delegation(api):
    status, body = await api.call("GET", "/api/directory/units?limit=5", "clerk")
    if status == 503:
        pytest.skip("directory module not available")
    assert status == 200 and body["items"]
    uid = body["items"][0]["id"]
    status, unit = await api.call("GET", f"/api/directory/units/{uid}", "clerk")
    assert status == 200 and unit["id"] == uid
    assert (await api.call("GET", "/api/directory/units/none-such", "clerk"))[0] == 404


@pytest.fixture
def consoles_dir(tmp_path, monkeypatch):
    import staffapi.app as api_mod

    (tmp_path / "index.html").write_text("<h1>控制台</h1>", encoding="utf-8")
    (tmp_path / "app.js").write_text("console.log(1)")
    monkeypatch.setattr(api_mod, "CONSOLES", tmp_path)
    return tmp_path


async def test_consoles_served_at_root(svc, consoles_dir):
    app = create_app(service=svc, users=users(), signer=auth.TokenSigner(b"k" * 32), run_scheduler=False)
    async with TestClient(TestServer(app)) as client:
        r = await client.get("/")
        assert r.status == 200 and "控制台" in await r.text()
        assert (await client.get("/app.js")).status == 200
        assert (await client.get("/health")).status == 200
        r = await client.get("/api/orders")
        assert r.status == 401
        r = await client.get("/nope.html")
        assert r.status == 404 and (await r.json())["error"] == "not_found"
        doc = await (await client.get("/api/openapi.json")).json()
        assert "get" in doc["paths"]["/"] and any("{filename}" in p for p in doc["paths"])
