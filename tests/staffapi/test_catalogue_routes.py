from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from staffapi.catalogue_routes import setup_routes


async def client():
    app = web.Application()
    setup_routes(app)
    c = TestClient(TestServer(app))
    await c.start_server()
    return c


async def test_search_endpoint_ranks_and_clarifies():
    c = await client()
    try:
        resp = await c.get("/api/catalogue/search", params={"q": "补办身份证要带什么", "k": "3"})
        assert resp.status == 200
        body = await resp.json()
        assert body["hits"][0]["matter_id"] == "gongan.idcard_reissue"
        assert len(body["hits"]) <= 3 and "clarify" in body
        assert 0 < body["hits"][0]["score"] <= 1
    finally:
        await c.close()


async def test_search_rejects_bad_parameters_clearly():
    c = await client()
    try:
        for params in ({}, {"q": " "}, {"q": "低保", "k": "abc"}, {"q": "低保", "k": "0"}, {"q": "低" * 500}):
            resp = await c.get("/api/catalogue/search", params=params)
            assert resp.status == 400, params
            assert (await resp.json())["error"]
    finally:
        await c.close()


async def test_matter_and_departments():
    c = await client()
    try:
        resp = await c.get("/api/catalogue/matters/gongan.idcard_reissue")
        body = await resp.json()
        assert resp.status == 200 and body["fee"]["yuan"] == 40 and body["department"]["id"] == "gongan"
        resp = await c.get("/api/catalogue/matters/nope.nothing")
        assert resp.status == 404 and "nope.nothing" in (await resp.json())["error"]
        resp = await c.get("/api/catalogue/departments")
        depts = (await resp.json())["departments"]
        assert any(d["id"] == "gongan" and d["matters"] >= 11 for d in depts)
    finally:
        await c.close()
