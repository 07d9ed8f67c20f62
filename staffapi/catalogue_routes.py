"""Read-only HTTP API of the catalogue (aiohttp). Public: no authentication needed.

GET /api/catalogue/search?q=<text>&k=<1..20>  ranked matters + clarifying question
GET /api/catalogue/matters/{id}               one matter (all facts)
GET /api/catalogue/departments                departments with matter counts

Mount with `setup_routes(app)` or `app.add_routes(routes())`.
"""
from __future__ import annotations

import asyncio

from aiohttp import web

from catalogue.loader import CatalogueError, load_catalogue
from catalogue.search import clarify, search

MAX_QUERY = 200


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _catalogue():
    return load_catalogue(strict=False)


async def handle_search(request: web.Request) -> web.Response:
    query = request.query.get("q", "").strip()
    if not query:
        return _error(400, "参数 q 不能为空 (missing query parameter q)")
    if len(query) > MAX_QUERY:
        return _error(400, f"q 太长，最多 {MAX_QUERY} 个字")
    try:
        k = int(request.query.get("k", "5"))
    except ValueError:
        return _error(400, "k 必须是 1 到 20 的整数")
    if not 1 <= k <= 20:
        return _error(400, "k 必须是 1 到 20 的整数")
    try:
        # Index build / file reload can take a moment: keep it off the event loop.
        hits = await asyncio.to_thread(search, query, k)
        question = clarify(hits)
    except CatalogueError as exc:
        return _error(503, str(exc))
    return web.json_response({"query": query, "hits": [h.as_dict() for h in hits], "clarify": question})


async def handle_matter(request: web.Request) -> web.Response:
    try:
        catalogue = await asyncio.to_thread(_catalogue)
    except CatalogueError as exc:
        return _error(503, str(exc))
    matter = catalogue.get(request.match_info["id"])
    if matter is None:
        return _error(404, f"没有这个事项: {request.match_info['id']}")
    dept = catalogue.department_of(matter["id"]) or {}
    return web.json_response({**matter, "department": dept})


async def handle_departments(request: web.Request) -> web.Response:
    try:
        catalogue = await asyncio.to_thread(_catalogue)
    except CatalogueError as exc:
        return _error(503, str(exc))
    return web.json_response({"departments": [
        {**d, "matters": len(catalogue.by_department.get(d["id"], []))} for d in catalogue.departments]})


def routes() -> web.RouteTableDef:
    table = web.RouteTableDef()
    table.get("/api/catalogue/search")(handle_search)
    table.get("/api/catalogue/matters/{id}")(handle_matter)
    table.get("/api/catalogue/departments")(handle_departments)
    return table


def setup_routes(app: web.Application) -> None:
    app.add_routes(routes())
