"""Unit / department performance indicators over a period (orders created in [since, until)).

Population: orders dispatched to the unit (current lead unit), merged duplicates excluded.
  签收率 sign_rate          signed / dispatched
  反馈率 reply_rate         replied (state 反馈 or later) / dispatched
  办结率 completion_rate    completed (办结, 回访, 归档) / dispatched
  回访率 callback_rate      called back (回访, 归档) / completed
  质量合格率 quality_rate   completed, never reopened (重办/整改) and not rated 不满意/非常不满意 / completed
  按时办结率 on_time_rate   completed whose reply came before its deadline / completed
  满意率 satisfaction_rate  rated 非常满意+满意+基本满意 / rated
A rate is null when its denominator is 0.
"""
from __future__ import annotations

from collections import defaultdict

from workorders.lifecycle import parse_time
from workorders.model import (
    BAD_LEVELS, CALLED_BACK_STATES, DONE_STATES, IN_PROGRESS, MERGED, REPLIED_OR_LATER, SATISFIED_LEVELS,
)

RATES = {
    "sign_rate": ("签收率", "signed", "dispatched"),
    "reply_rate": ("反馈率", "replied", "dispatched"),
    "completion_rate": ("办结率", "completed", "dispatched"),
    "callback_rate": ("回访率", "called_back", "completed"),
    "quality_rate": ("质量合格率", "quality_ok", "completed"),
    "on_time_rate": ("按时办结率", "on_time", "completed"),
    "satisfaction_rate": ("满意率", "satisfied", "rated"),
}


def _counts(orders: list[dict]) -> dict:
    c = defaultdict(int)
    for o in orders:
        c["dispatched"] += 1
        c["signed"] += bool(o.get("signed_at") or o["state"] == IN_PROGRESS or o["state"] in REPLIED_OR_LATER)
        c["replied"] += o["state"] in REPLIED_OR_LATER
        done = o["state"] in DONE_STATES
        c["completed"] += done
        c["called_back"] += o["state"] in CALLED_BACK_STATES
        c["quality_ok"] += done and not o.get("reopened_count") and o.get("rating") not in BAD_LEVELS
        c["on_time"] += done and bool(o.get("on_time"))
        if o.get("rating"):
            c["rated"] += 1
            c["satisfied"] += o["rating"] in SATISFIED_LEVELS
    return dict(c)


def _row(key: str, orders: list[dict]) -> dict:
    c = _counts(orders)
    row = {"key": key, "counts": {k: c.get(k, 0) for k in
                                  ("dispatched", "signed", "replied", "completed", "called_back",
                                   "quality_ok", "on_time", "rated", "satisfied")}}
    for name, (label, num, den) in RATES.items():
        d = c.get(den, 0)
        row[name] = round(c.get(num, 0) / d, 4) if d else None
    return row


COUNTERS = ("dispatched", "signed", "replied", "completed", "called_back", "quality_ok", "on_time", "rated",
            "satisfied")
GROUP_PREFIX = {"unit": "u", "department": "d"}


def _group_key(o: dict, group_by: str) -> str:
    return o["lead_unit_id"] if group_by == "unit" else (o.get("lead_department") or "未知部门")


def contribution(o: dict | None) -> dict[str, int]:
    """What one order adds to the report counters of its creation day ("u|<unit>|<counter>",
    "d|<department>|<counter>"): the same _counts() the report computes on raw orders."""
    if not o or o["state"] == MERGED or not o.get("lead_unit_id"):
        return {}
    out = {}
    for counter, n in _counts([o]).items():
        if n:
            for group_by, tag in GROUP_PREFIX.items():
                out[f"{tag}|{_group_key(o, group_by)}|{counter}"] = int(n)
    return out


def _rows_from_counters(totals: dict[str, int], unit: str | None) -> list[dict]:
    groups: dict[str, dict] = defaultdict(dict)
    for field, n in totals.items():
        key, _, counter = field.rpartition("|")
        if n and (unit is None or key == unit):
            groups[key][counter] = n
    return [_row_from_counts(k, c) for k, c in sorted(groups.items()) if c.get("dispatched")]


def _row_from_counts(key: str, c: dict) -> dict:
    row = {"key": key, "counts": {k: int(c.get(k, 0)) for k in COUNTERS}}
    for name, (label, num, den) in RATES.items():
        d = c.get(den, 0)
        row[name] = round(c.get(num, 0) / d, 4) if d else None
    return row


def compute(orders: list[dict], group_by: str = "unit", since=None, until=None) -> list[dict]:
    if group_by not in ("unit", "department"):
        raise ValueError("group_by must be unit or department")
    lo, hi = parse_time(since), parse_time(until)
    groups: dict[str, list] = defaultdict(list)
    for o in orders:
        if o["state"] == MERGED or not o.get("lead_unit_id"):
            continue
        created = parse_time(o["created_at"])
        if lo and created < lo or hi and created >= hi:
            continue
        groups[_group_key(o, group_by)].append(o)
    return [_row(k, v) for k, v in sorted(groups.items())]


async def kpi_report(svc, group_by: str = "unit", since=None, until=None, unit: str | None = None) -> dict:
    """From the day/month counters (workorders/store.py keeps them at every write): whole days and
    months are read as counters, only the orders of a partial first/last day are loaded."""
    if group_by not in GROUP_PREFIX:
        raise ValueError("group_by must be unit or department")
    lo, hi = parse_time(since), parse_time(until)
    totals = await svc.store.report_totals(GROUP_PREFIX[group_by], lo, hi, contribution)
    rows = _rows_from_counters(totals, unit if group_by == "unit" else None)
    if unit and group_by != "unit":  # a unit's own view by department: its orders only
        listing = await svc.list(since=since, until=until, unit=unit, limit=10 ** 9)
        rows = compute(listing["items"], group_by, since, until)
    for row in rows:
        if group_by == "unit":
            row["name"] = svc.unit_info(row["key"]).get("name")
    return {"group_by": group_by, "since": since, "until": until,
            "definitions": {k: v[0] for k, v in RATES.items()}, "rows": rows}
