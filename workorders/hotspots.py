"""Hot spots: counts of work orders by category, matter, place (township/village) and ISO week,
with rising trends flagged: this week >= RISING_MIN and >= RISING_FACTOR x the mean of the
previous `baseline_weeks` weeks. CSV export for spreadsheets."""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import datetime, timedelta

from workorders.lifecycle import parse_time

RISING_MIN = 3
RISING_FACTOR = 2.0
DIMENSIONS = ("category", "matter", "township", "village")


def iso_week(t: datetime) -> str:
    y, w, _ = t.isocalendar()
    return f"{y}-W{w:02d}"


def _keys(o: dict) -> dict:
    place = o.get("place") or {}
    return {"category": o.get("category"), "matter": o.get("matter_id"),
            "township": place.get("township"), "village": place.get("village")}


def compute(orders: list[dict], now: datetime, weeks: int = 8, baseline_weeks: int = 4) -> dict:
    week_list = [iso_week(now - timedelta(weeks=i)) for i in range(weeks - 1, -1, -1)]
    current, baseline = week_list[-1], week_list[-1 - baseline_weeks:-1]
    table: dict[str, dict[str, dict[str, int]]] = {d: defaultdict(lambda: defaultdict(int)) for d in DIMENSIONS}
    for o in orders:
        if o["state"] == "merged":
            continue  # a merged duplicate is the same problem counted once
        week = iso_week(parse_time(o["created_at"]))
        if week not in week_list:
            continue
        for dim, key in _keys(o).items():
            if key:
                table[dim][key][week] += 1
    by, rising = {}, []
    for dim in DIMENSIONS:
        rows = []
        for key, per_week in table[dim].items():
            this = per_week.get(current, 0)
            mean = sum(per_week.get(w, 0) for w in baseline) / max(1, len(baseline))
            is_rising = this >= RISING_MIN and this >= RISING_FACTOR * mean
            row = {"key": key, "total": sum(per_week.values()), "this_week": this,
                   "baseline_mean": round(mean, 2), "rising": is_rising,
                   "weeks": {w: per_week.get(w, 0) for w in week_list}}
            rows.append(row)
            if is_rising:
                rising.append({"dimension": dim, "key": key, "this_week": this, "baseline_mean": round(mean, 2)})
        rows.sort(key=lambda r: (-r["total"], r["key"]))
        by[dim] = rows
    return {"current_week": current, "weeks": week_list, "by": by, "rising": rising,
            "rule": f"本周≥{RISING_MIN}件且≥前{baseline_weeks}周均值的{RISING_FACTOR:g}倍"}


def to_csv(report: dict) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["dimension", "key", *report["weeks"], "total", "this_week", "baseline_mean", "rising"])
    for dim, rows in report["by"].items():
        for r in rows:
            writer.writerow([dim, r["key"], *[r["weeks"][w] for w in report["weeks"]], r["total"],
                             r["this_week"], r["baseline_mean"], "yes" if r["rising"] else ""])
    return "\ufeff" + buf.getvalue()  # BOM: Excel opens UTF-8 Chinese correctly


async def hotspots_report(svc, weeks: int = 8, now: datetime | None = None) -> dict:
    now = now or svc.now()
    since = now - timedelta(weeks=weeks, days=7)
    listing = await svc.list(since=since.isoformat(), limit=10 ** 9)
    return compute(listing["items"], now, weeks)
