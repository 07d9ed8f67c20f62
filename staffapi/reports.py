"""Analytics for dispatchers and supervisors: KPIs by unit or department, hot spots (JSON or CSV with Chinese
headers), the supervision queue.
"""
from __future__ import annotations

import logging

from aiohttp import web

from staffapi import apischema
from staffapi.base import SVC, dumps, offload, ok, requires
from workorders import auth, hotspots, kpi
from workorders.csvsafe import neutralise_csv

log = logging.getLogger(__name__)


@requires(auth.ANALYTICS_ROLES | {"unit_handler"})
async def get_kpi(request):
    q = apischema.parse_query(apischema.KPI_QUERY, request.query)
    unit = request["user"].unit_id if request["user"].role == "unit_handler" else q["unit"]
    return await offload(request, kpi_json, q["group_by"], q["since"], q["until"], unit)


async def kpi_json(svc, group_by: str, since, until, unit: str | None) -> bytes:
    """GET /api/kpi's body (in the report worker when there is one: staffapi.base.offload)."""
    report = await kpi.kpi_report(svc, group_by, since, until, unit=unit)
    if group_by == "department":  # people read 公安, not gongan
        names = _department_names()
        for row in report["rows"]:
            row["name"] = names.get(row["key"], row["key"])
    return dumps(report)


_DEPARTMENT_NAMES: dict[str, str] = {}


def _department_names() -> dict[str, str]:
    """Directory department id -> Chinese name (workorders/data/departments.yaml), read once."""
    if not _DEPARTMENT_NAMES:
        from workorders.directory import load_departments

        try:
            _DEPARTMENT_NAMES.update({d["id"]: d["name"] for d in load_departments()})
        except Exception:  # noqa: BLE001 - names are a nicety: the codes still identify the rows
            log.exception("departments could not be loaded")
    return _DEPARTMENT_NAMES


HOTSPOT_DIMENSIONS = {"category": "分类", "matter": "事项", "township": "乡镇", "village": "村（社区）"}


def _matter_name(matter_id: str) -> str:
    try:
        from catalogue.loader import load_catalogue

        matter = load_catalogue(strict=False).get(matter_id)
    except Exception:  # noqa: BLE001 - an unknown id or no catalogue: the id itself
        matter = None
    name = getattr(matter, "name", None) or (matter.get("name") if isinstance(matter, dict) else None)
    return name or matter_id


def _week_label(week: str) -> str:
    """ISO week "2026-W45" -> "11月2日—11月8日" (Monday to Sunday)."""
    from datetime import date, timedelta

    try:
        year, num = week.split("-W")
        monday = date.fromisocalendar(int(year), int(num), 1)
    except ValueError:
        return week
    sunday = monday + timedelta(days=6)
    return f"{monday.month}月{monday.day}日—{sunday.month}月{sunday.day}日"


def hotspots_csv(report: dict) -> str:
    """The hot-spot report as a spreadsheet for people: Chinese headers, matter names, weeks as dates."""
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["维度", "名称", *[_week_label(w) for w in report["weeks"]], "合计", "本周", "前4周均值", "是否上升"])
    for dim, rows in report["by"].items():
        for r in rows:
            key = _matter_name(r["key"]) if dim == "matter" else r["key"]
            writer.writerow([HOTSPOT_DIMENSIONS.get(dim, dim), key, *[r["weeks"][w] for w in report["weeks"]],
                             r["total"], r["this_week"], r["baseline_mean"], "上升" if r["rising"] else ""])
    return "\ufeff" + buf.getvalue()  # BOM: Excel opens UTF-8 Chinese correctly


@requires(auth.ANALYTICS_ROLES)
async def get_hotspots(request):
    q = apischema.parse_query(apischema.HOTSPOTS_QUERY, request.query)
    resp = await offload(request, hotspots_body, q["weeks"], q["format"])
    if q["format"] == "csv":
        return web.Response(body=resp.body, content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": 'attachment; filename="hotspots.csv"'})
    return resp


async def hotspots_body(svc, weeks: int, fmt: str) -> bytes:
    """GET /api/hotspots' body: JSON, or CSV (UTF-8 with BOM) for format=csv."""
    report = await hotspots.hotspots_report(svc, weeks=weeks)
    if fmt == "csv":
        # Village names and matter ids come from callers and staff: no cell may start a formula.
        return neutralise_csv(hotspots_csv(report)).encode("utf-8")
    return dumps(report)


@requires(frozenset({"supervisor", "dispatcher", "admin"}))
async def supervision(request):
    q = apischema.parse_query(apischema.SUPERVISION_QUERY, request.query)
    return ok({"items": await request.app[SVC].store.supervision_queue(q["limit"])})
