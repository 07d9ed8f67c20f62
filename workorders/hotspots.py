"""Hot spots: counts of work orders by category, matter, place (township/village) and ISO week,
with rising trends flagged: this week >= RISING_MIN and >= RISING_FACTOR x the mean of the
previous `baseline_weeks` weeks. CSV export for spreadsheets."""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import datetime, timedelta

from workorders.lifecycle import parse_time
from workorders.model import MERGED

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


def week_of(o: dict) -> str:
    return iso_week(parse_time(o["created_at"]))


def contribution(o: dict | None) -> dict[str, int]:
    """What one order adds to its creation week's counters ("<dimension>|<key>" -> 1)."""
    if not o or o["state"] == MERGED:  # a merged duplicate is the same problem counted once
        return {}
    return {f"{dim}|{key}": 1 for dim, key in _keys(o).items() if key}


def week_list_of(now: datetime, weeks: int) -> list[str]:
    return [iso_week(now - timedelta(weeks=i)) for i in range(weeks - 1, -1, -1)]


def compute(orders: list[dict], now: datetime, weeks: int = 8, baseline_weeks: int = 4) -> dict:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for o in orders:
        for field, n in contribution(o).items():
            counts[week_of(o)][field] += n
    return from_counters(counts, now, weeks, baseline_weeks)


def from_counters(counts: dict[str, dict[str, int]], now: datetime, weeks: int = 8, baseline_weeks: int = 4) -> dict:
    """The report from per-week counters {week: {"<dimension>|<key>": n}}."""
    week_list = week_list_of(now, weeks)
    current, baseline = week_list[-1], week_list[-1 - baseline_weeks:-1]
    table: dict[str, dict[str, dict[str, int]]] = {d: defaultdict(lambda: defaultdict(int)) for d in DIMENSIONS}
    for week in week_list:
        for field, n in (counts.get(week) or {}).items():
            dim, _, key = field.partition("|")
            if n and dim in table:
                table[dim][key][week] += int(n)
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
    weeks_wanted = week_list_of(now, weeks)
    return from_counters(await svc.store.week_counters(weeks_wanted), now, weeks)
