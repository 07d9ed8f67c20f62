"""Staff API on a network (issue 12): login rate limiting, lockout and audit; demo accounts only in
demo mode; every client error a 4xx with the JSON error body; bounded bodies; unknown units refused;
CSV export without formula injection; staff free text masked before it is stored; a complete OpenAPI
document. Each test here failed on the API before these protections."""
from __future__ import annotations

import asyncio
import json
import logging

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.staffapi.test_app import ORDER, Api, users
from workorders import auth
from staffapi.app import create_app
from staffapi.base import MAX_BODY
from workorders.csvsafe import neutralise_csv, safe_cell
from workorders.login_guard import Limits, mask_username

PHONE, ID_NUMBER = "13912345678", "11010519491231002X"
REAL_UNIT = "C01T01-gongan"  # in the shipped directory (workorders/data/directory.yaml)


async def start(svc, **kw) -> Api:
    app = create_app(service=svc, users=users(), signer=auth.TokenSigner(b"k" * 32), run_scheduler=False, **kw)
    client = TestClient(TestServer(app))
    await client.start_server()
    return Api(client)


@pytest.fixture
async def api(svc):
    a = await start(svc)
    yield a
    await a.c.close()


def assert_error(status, body, expected_status, code=None):
    assert status == expected_status, body
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and isinstance(body.get("message"), str), body
    if code:
        assert body["error"] == code, body


async def login(api: Api, username: str, password: str, ip: str | None = None):
    headers = {"X-Forwarded-For": ip} if ip else {}
    r = await api.c.post("/api/login", json={"username": username, "password": password}, headers=headers)
    return r.status, await r.json(), r.headers


# --- login: lockout, rate limit, audit -------------------------------------------------------------
async def test_username_locked_after_5_failures_with_429_and_retry_after(api, svc):
    for i in range(4):
        status, body, _ = await login(api, "clerk", f"wrong{i}")
        assert_error(status, body, 401, "bad_credentials")
    status, body, headers = await login(api, "clerk", "wrong4")
    assert_error(status, body, 429, "login_locked")
    assert "锁定" in body["message"] and "15 分钟" in body["message"]
    assert 800 < int(headers["Retry-After"]) <= 900
    # locked: even the right password is refused, without being checked
    status, body, headers = await login(api, "clerk", "clerk123")
    assert_error(status, body, 429, "login_locked")
    assert int(headers["Retry-After"]) > 0
    # the lock is in Redis: another staff-API process (a second app on the same store) sees it
    other = await start(svc)
    try:
        status, body, _ = await login(other, "clerk", "clerk123")
        assert_error(status, body, 429, "login_locked")
    finally:
        await other.c.close()
    # other accounts from the same address are not affected by one username's lock
    status, body, _ = await login(api, "dispatcher", "dispatcher123")
    assert status == 200 and body["token"]


async def test_lock_expires_and_success_resets_the_count(svc):
    api = await start(svc, login_limits=Limits(user_failures=3, ip_failures=100, window=60, lockout=1))
    try:
        for _ in range(2):
            assert (await login(api, "clerk", "bad"))[0] == 401
        assert (await login(api, "clerk", "clerk123"))[0] == 200   # success clears the username's count
        for _ in range(2):
            assert (await login(api, "clerk", "bad"))[0] == 401
        assert (await login(api, "clerk", "bad"))[0] == 429
        assert (await login(api, "clerk", "clerk123"))[0] == 429
        await asyncio.sleep(1.3)
        assert (await login(api, "clerk", "clerk123"))[0] == 200
    finally:
        await api.c.close()


async def test_client_address_locked_after_20_failures(api, monkeypatch):
    monkeypatch.setenv("GOVDESK_TRUSTED_PROXIES", "127.0.0.1")  # the edge proxy: X-Forwarded-For is believed
    attacker, office = "203.0.113.7", "198.51.100.20"
    statuses = [(await login(api, f"guess{i}", "x", ip=attacker))[0] for i in range(20)]
    assert statuses == [401] * 19 + [429]   # 20 different usernames: only the address limit can stop it
    status, body, headers = await login(api, "supervisor", "supervisor123", ip=attacker)
    assert_error(status, body, 429, "login_locked")
    assert body["details"]["scope"] == "ip" and "Retry-After" in headers
    assert (await login(api, "supervisor", "supervisor123", ip=office))[0] == 200


async def test_parallel_guesses_get_no_more_password_checks_than_the_limit(api):
    results = await asyncio.gather(*(login(api, "admin", f"guess{i}") for i in range(20)))
    statuses = sorted(status for status, _, _ in results)
    assert statuses.count(401) == 4 and statuses.count(429) == 16, statuses
    assert (await login(api, "admin", "admin123"))[0] == 429


async def test_successful_logins_do_not_use_up_the_address_budget(api):
    for _ in range(12):
        assert (await login(api, "clerk", "clerk123"))[0] == 200
        assert (await login(api, "dispatcher", "dispatcher123"))[0] == 200
    assert (await login(api, "clerk", "wrong"))[0] == 401


async def test_unknown_and_known_usernames_are_counted_alike(api):
    for _ in range(5):
        status, body, _ = await login(api, "nobody", "x")
    assert_error(status, body, 429, "login_locked")


async def test_every_login_writes_an_audit_line_without_password_or_clear_numbers(api, caplog):
    caplog.set_level(logging.INFO, logger="workorders.audit")
    await login(api, "clerk", "clerk123")
    await login(api, PHONE, "S3cret-pass!")
    await login(api, ID_NUMBER, "S3cret-pass!")
    await login(api, "evil\nevent=login_success user=admin", "S3cret-pass!")
    r = await api.c.post("/api/login", json={"username": "clerk"})
    assert r.status == 400
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "workorders.audit"]
    assert len(lines) == 5, lines
    assert lines[0].startswith("event=login_success user=clerk ip=127.0.0.1 role=clerk")
    assert all(line.startswith("event=login_failure") for line in lines[1:]), lines
    text = "\n".join(lines)
    assert "S3cret-pass!" not in text and "clerk123" not in text
    assert PHONE not in text and "139****5678" in text
    assert ID_NUMBER not in text and "110105********002X" in text
    assert all("\n" not in line for line in lines)   # no forged audit line through the username
    assert "reason=credentials_required" in lines[4]


def test_mask_username():
    assert mask_username("13800001111") == "138****1111"
    assert mask_username("138 0000 1111") == "138****1111"
    assert mask_username("11010519491231002X") == "110105********002X"
    assert mask_username("zhang.san") == "zhang.san"
    assert mask_username("a\r\nb\u202e") == "a??b?"
    assert len(mask_username("x" * 500)) == 65


# --- demo accounts ---------------------------------------------------------------------------------
def test_demo_accounts_exist_only_in_demo_mode(monkeypatch):
    for name in ("GOVDESK_STAFF_USERS", "GOVDESK_STAFF_USERS_FILE", "GOVDESK_DEMO"):
        monkeypatch.delenv(name, raising=False)
    assert auth.load_users() == {}
    monkeypatch.setenv("GOVDESK_DEMO", "0")
    assert auth.load_users() == {}
    monkeypatch.setenv("GOVDESK_DEMO", "1")
    demo = auth.load_users()
    assert {"clerk", "dispatcher", "police", "centre", "admin"} <= set(demo)
    assert auth.check_password("clerk123", demo["clerk"].password_hash)
    # configured accounts win over demo mode
    monkeypatch.setenv("GOVDESK_STAFF_USERS", json.dumps([{"username": "li", "password": "pw-li-1", "role": "clerk"}]))
    assert set(auth.load_users()) == {"li"}


async def test_without_accounts_login_says_so(svc, monkeypatch):
    for name in ("GOVDESK_STAFF_USERS", "GOVDESK_STAFF_USERS_FILE", "GOVDESK_DEMO"):
        monkeypatch.delenv(name, raising=False)
    app = create_app(service=svc, signer=auth.TokenSigner(b"k" * 32), run_scheduler=False)
    async with TestClient(TestServer(app)) as client:
        r = await client.post("/api/login", json={"username": "clerk", "password": "clerk123"})
        body = await r.json()
        assert r.status == 503 and body["error"] == "no_accounts" and "账号" in body["message"]


# --- every client error is a 4xx with the JSON error body ------------------------------------------
async def test_unknown_directory_level_is_400(api):
    status, body = await api.call("GET", "/api/directory/units?level=galaxy", "clerk")
    assert_error(status, body, 400, "bad_query")
    assert "prefecture" in body["message"]
    status, body = await api.call("GET", "/api/directory/units?level=township&limit=3", "clerk")
    assert status == 200 and {u["level"] for u in body["items"]} == {"township"}


@pytest.mark.parametrize("path", [
    "/api/orders?since=0001-01-01", "/api/orders?until=0001-01-01T00:00:00", "/api/orders?since=99999-01-01",
    "/api/orders?since=9999-12-31T23:59:59-12:00", "/api/orders?since=1969-12-31", "/api/orders?until=2101-01-01",
    "/api/kpi?since=0001-01-01", "/api/kpi?until=0001-01-01", "/api/orders?since=2026-02-30",
    "/api/orders?limit=1e3", "/api/orders?limit=%EF%BC%95", "/api/orders?overdue=1",
])
async def test_bad_query_values_are_400(api, path):
    status, body = await api.call("GET", path, "dispatcher")
    assert_error(status, body, 400, "bad_query")


async def test_dates_in_range_still_work(api):
    for path in ("/api/orders?since=2026-03-01", "/api/orders?since=2026-03-01T08:00:00%2B08:00",
                 "/api/kpi?since=1970-01-01&until=2100-12-31"):
        assert (await api.call("GET", path, "dispatcher"))[0] == 200, path


def post_routes(order_id: str) -> list[tuple[str, str]]:
    return [("/api/login", None), ("/api/orders", "clerk"), (f"/api/orders/{order_id}/actions/supervise", "admin"),
            ("/api/bot/message", "clerk")]


BAD_BODIES = {
    "nested_list": b"[" * 30000 + b"]" * 30000,
    "nested_object": b'{"a":' * 10000 + b"1" + b"}" * 10000,
    "nested_33": b'{"note":' + b"[" * 33 + b"]" * 33 + b"}",
    "list": b"[1, 2]", "number": b"5", "string": b'"text"', "null": b"null", "true": b"true",
    "nan": b'{"text": NaN}', "huge_int": b'{"text": ' + b"9" * 5000 + b"}", "latin1": '{"text": "é"}'.encode("latin-1"),
    "truncated": b'{"text": "a', "empty_object_in_list": b"[{}]",
}


@pytest.mark.parametrize("kind", sorted(BAD_BODIES))
async def test_malformed_json_at_every_post_route_is_400(api, kind):
    _, created = await api.call("POST", "/api/orders", "clerk", json=ORDER)
    for path, who in post_routes(created["id"]):
        status, body = await api.call("POST", path, who, data=BAD_BODIES[kind],
                                      headers={"Content-Type": "application/json"})
        assert_error(status, body, 400)
        assert body["error"] in ("bad_json", "bad_field", "text_required", "credentials_required"), (path, body)


async def test_wrong_field_types_are_400(api):
    _, created = await api.call("POST", "/api/orders", "clerk", json=ORDER)
    oid = created["id"]
    cases = [("/api/orders", "clerk", {**ORDER, "channel": 5}), ("/api/orders", "clerk", {**ORDER, "caller": {"x": 1}}),
             ("/api/orders", "clerk", {**ORDER, "co_unit_ids": [{"a": 1}]}),
             ("/api/orders", "clerk", {**ORDER, "emotion": ["平静"]}), ("/api/orders", "clerk", {**ORDER, "text": "   "}),
             ("/api/orders", "clerk", {**ORDER, "surprise": 1}),
             (f"/api/orders/{oid}/actions/supervise", "admin", {"note": {"deep": [1]}}),
             (f"/api/orders/{oid}/actions/callback", "admin", {"satisfied": "yes"}),
             (f"/api/orders/{oid}/actions/dispatch", "admin", {"unit_id": ["U1"]}),
             ("/api/login", None, {"username": ["clerk"], "password": "clerk123"}),
             ("/api/login", None, {"username": "clerk", "password": "clerk123", "remember": True}),
             ("/api/bot/message", "clerk", {"message": "你好", "session": "abcd1234", "sender": "someone-else"})]
    for path, who, payload in cases:
        status, body = await api.call("POST", path, who, json=payload)
        assert_error(status, body, 400)


async def test_oversized_bodies_are_413_before_anything_else(api):
    big = json.dumps({"text": "长" * 30000}).encode()
    assert len(big) > MAX_BODY
    for method, path, who in [("POST", "/api/orders", None), ("POST", "/api/login", None),
                              ("GET", "/api/orders", "clerk"), ("POST", "/api/orders/1/actions/sign", "admin"),
                              ("POST", "/health", None), ("GET", "/nope.js", None)]:
        status, body = await api.call(method, path, who, data=big, headers={"Content-Type": "application/json"})
        assert_error(status, body, 413, "body_too_large")
        assert "过大" in body["message"] and "64 KB" in body["message"]


async def test_300_character_static_path_is_404(api):
    for path in ("/" + "a" * 300, "/" + "a" * 300 + ".js", "/css/" + "b" * 400, "/%00"):
        status, body = await api.call("GET", path)
        assert_error(status, body, 404, "not_found")


async def test_api_paths_asked_with_another_method_are_405_with_allow(api):
    r = await api.c.get("/api/login")
    assert r.status == 405 and r.headers["Allow"] == "POST"
    assert (await r.json())["error"] == "method_not_allowed"
    r = await api.c.request("DELETE", "/api/orders")
    assert r.status == 405 and set(r.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST"}
    r = await api.c.request("PUT", "/")
    assert r.status == 405 and "PUT" not in r.headers["Allow"]


async def test_storage_down_is_503_with_retry_after():
    import redis.asyncio as aioredis

    from workorders.service import WorkOrderService

    dead = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    svc = WorkOrderService(dead, prefix="down", classifier=None, router=None)
    api = await start(svc)
    try:
        token, _ = auth.TokenSigner(b"k" * 32).issue(users()["clerk"])
        r = await api.c.get("/api/orders", headers={"Authorization": f"Bearer {token}"})
        body = await r.json()
        assert r.status == 503 and body["error"] == "storage_unavailable" and int(r.headers["Retry-After"]) > 0
        status, body, headers = await login(api, "clerk", "clerk123")
        assert status == 503 and "Retry-After" in headers
    finally:
        await api.c.close()


# --- dispatch only to known units ------------------------------------------------------------------
async def test_dispatch_to_unknown_unit_is_refused(api):
    _, created = await api.call("POST", "/api/orders", "clerk", json=ORDER)
    oid = created["id"]
    status, body = await api.call("POST", f"/api/orders/{oid}/actions/dispatch", "dispatcher",
                                  json={"unit_id": "BAD-unit"})
    assert_error(status, body, 400, "unknown_unit")
    assert "BAD-unit" in body["message"]
    status, body = await api.call("POST", f"/api/orders/{oid}/actions/dispatch", "dispatcher",
                                  json={"unit_id": REAL_UNIT, "co_unit_ids": ["U1", "nowhere"]})
    assert_error(status, body, 400, "unknown_unit")
    assert body["details"]["unit_ids"] == ["nowhere"]
    status, body = await api.call("POST", "/api/orders", "dispatcher", json={**ORDER, "unit_id": "BAD-unit"})
    assert_error(status, body, 400, "unknown_unit")
    status, body = await api.call("POST", f"/api/orders/{oid}/actions/dispatch", "dispatcher",
                                  json={"unit_id": REAL_UNIT, "co_unit_ids": ["U1"]})
    assert status == 200 and body["lead_unit_id"] == REAL_UNIT and body["state"] == "dispatched"


# --- CSV export ------------------------------------------------------------------------------------
def test_safe_cell_and_neutralise_csv():
    for bad in ("=1+1", "+1", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(bad) == "'" + bad
    for fine in ("东风村", "1", "-1", "0.5", "a=b", "", 3):
        assert safe_cell(fine) == fine
    text = neutralise_csv('\ufeffdimension,key\r\nvillage,"=HYPERLINK(""http://x"",""y"")"\r\nvillage,-5\r\n')
    assert text.startswith("\ufeffdimension,key\r\n")
    assert '"\'=HYPERLINK(""http://x"",""y"")"' in text and "village,-5" in text


async def test_hotspots_csv_neutralises_formula_injection(api):
    for village in ('=HYPERLINK("http://evil.example","点我")', "+1+1", "@SUM(1)", "-2+3", "东风村"):
        order = {**ORDER, "text": f"{village}路灯坏了", "place": {"township": "\t=1", "village": village}}
        assert (await api.call("POST", "/api/orders", "clerk", json=order))[0] == 201
    r = await api.c.get("/api/hotspots?format=csv",
                        headers={"Authorization": f"Bearer {await api.token('supervisor')}"})
    assert r.status == 200
    import csv
    import io

    rows = list(csv.reader(io.StringIO((await r.text()).lstrip("\ufeff"))))
    cells = [cell for row in rows for cell in row]
    assert "'=HYPERLINK(\"http://evil.example\",\"点我\")" in cells and "'+1+1" in cells and "'@SUM(1)" in cells
    assert "'-2+3" in cells and "'=1" in cells and "东风村" in cells   # township "\t=1" is stored stripped
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")
                or (c[:1] == "-" and not c[1:].replace(".", "").isdigit())]


# --- staff free text is masked before it is stored -------------------------------------------------
async def test_staff_free_text_is_masked_before_storage(api, svc):
    secret_text = f"已电话联系居民{PHONE}，身份证{ID_NUMBER}已核验"
    _, created = await api.call("POST", "/api/orders", "clerk", json={**ORDER, "title": f"回电{PHONE}"})
    oid = created["id"]
    steps = [("supervise", "supervisor", {"note": secret_text}),
             ("dispatch", "dispatcher", {"unit_id": "U1", "reason": secret_text}),
             ("sign", "handler", None), ("start", "handler", None),
             ("request_extension", "handler", {"reason": secret_text}),
             ("refuse_extension", "supervisor", {"note": secret_text}),
             ("reply", "handler", {"reply": secret_text})]
    for action, who, payload in steps:
        status, body = await api.call("POST", f"/api/orders/{oid}/actions/{action}", who, json=payload)
        assert status == 200, (action, body)
    assert body["reply"] == "已电话联系居民139****5678，身份证110105********002X已核验"
    raw_order = await svc.redis.get(svc.store.k("order", oid))
    raw_events = await svc.redis.lrange(svc.store.k("events", oid), 0, -1)
    stored = raw_order.decode() + "".join(e.decode() for e in raw_events)
    assert PHONE not in stored and ID_NUMBER not in stored
    assert "139****5678" in stored
    status, events = await api.call("GET", f"/api/orders/{oid}/events", "supervisor")
    assert PHONE not in json.dumps(events, ensure_ascii=False)
    assert (await api.call("GET", f"/api/orders/{oid}/verify", "supervisor"))[1]["ok"]


# --- OpenAPI document ------------------------------------------------------------------------------
async def test_openapi_document_is_complete_for_a_fuzzer(api):
    status, doc = await api.call("GET", "/api/openapi.json")
    assert status == 200
    paths = doc["paths"]
    create = paths["/api/orders"]["post"]
    assert "201" in create["responses"] and create["responses"]["201"]["content"]["application/json"]["schema"]
    assert create["responses"]["201"]["links"]["GetOrder"]["parameters"] == {"order_id": "$response.body#/id"}
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert create["requestBody"]["required"] is True and body["required"] == ["text"]
    assert body["additionalProperties"] is False and "政务类" in body["properties"]["category"]["enum"]
    assert body["properties"]["caller"]["properties"]["phone"]["maxLength"] == 30
    login_schema = paths["/api/login"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert login_schema["required"] == ["username", "password"]
    assert {"401", "429"} <= set(paths["/api/login"]["post"]["responses"])
    bot = paths["/api/bot/message"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert bot["required"] == ["message", "session"] and "502" in paths["/api/bot/message"]["post"]["responses"]
    params = {p["name"]: p["schema"] for p in paths["/api/orders"]["get"]["parameters"]}
    assert params["limit"] == {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}
    assert params["overdue"]["type"] == "boolean" and "accepted" in params["state"]["enum"]
    assert "pattern" in params["since"] and not any(k.startswith("x-") for s in params.values() for k in s)
    levels = {p["name"]: p["schema"] for p in paths["/api/directory/units"]["get"]["parameters"]}["level"]
    assert levels["enum"] == ["prefecture", "county", "township", "village"]
    assert {"format": {"type": "string", "enum": ["json", "csv"], "default": "json"}}.items() <= \
        {p["name"]: p["schema"] for p in paths["/api/hotspots"]["get"]["parameters"]}.items()
    assert set(paths["/api/hotspots"]["get"]["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    ids = [op["operationId"] for ops in paths.values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    for path, ops in paths.items():
        for method, op in ops.items():
            codes = set(op["responses"])
            assert {"400", "413"} <= codes, (method, path)
            if op["security"]:
                assert {"401", "403"} <= codes, (method, path)
    responses = doc["components"]["responses"]
    assert responses["E429"]["headers"]["Retry-After"]["required"] is True
    assert responses["E503"]["headers"]["Retry-After"]["required"] is True
    assert doc["components"]["schemas"]["Error"]["required"] == ["error", "message"]


async def test_catalogue_errors_follow_the_error_contract(api):
    status, body = await api.call("GET", "/api/catalogue/matters/none.such")
    assert_error(status, body, 404, "not_found")
    for query in ("", "?q=", "?q=%20", "?q=x&k=0", "?q=x&k=%20%35", "?q=" + "长" * 201):
        status, body = await api.call("GET", "/api/catalogue/search" + query)
        assert_error(status, body, 400, "bad_query")
