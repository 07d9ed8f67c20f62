"""Deadline policy (policy.yaml) applied on the working-day calendar."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import yaml

from workorders.calendar import WorkingCalendar, default_calendar, to_local

POLICY_FILE = Path(__file__).with_name("policy.yaml")


def _span(calendar: WorkingCalendar, start: datetime, rule: dict) -> datetime:
    if "hours" in rule:
        return to_local(start) + timedelta(hours=float(rule["hours"]))
    if "working_days" in rule:
        return calendar.deadline_after_working_days(start, int(rule["working_days"]))
    raise ValueError(f"deadline rule needs hours or working_days: {rule}")


@dataclass
class DeadlinePolicy:
    data: dict
    calendar: WorkingCalendar

    @classmethod
    def load(cls, path: Path | str = POLICY_FILE, calendar: WorkingCalendar | None = None) -> "DeadlinePolicy":
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return cls(data, calendar or default_calendar())

    def sign_deadline(self, dispatched_at: datetime) -> datetime:
        return _span(self.calendar, dispatched_at, self.data["sign"])

    def handling_deadline(self, start: datetime, order_type: str, urgency: str | None = None) -> datetime:
        rule = self.data["handling"].get(order_type) or self.data["handling"]["求助"]
        deadline = _span(self.calendar, start, rule)
        urgent = (self.data.get("urgency") or {}).get(urgency or "")
        if urgent:
            deadline = min(deadline, _span(self.calendar, start, urgent))
        return deadline

    def extended_deadline(self, current: datetime) -> datetime:
        return _span(self.calendar, current, {"working_days": self.data["extension"]["working_days"]})

    @property
    def max_extensions(self) -> int:
        return int(self.data["extension"]["max_times"])

    def reopen_deadline(self, at: datetime) -> datetime:
        return _span(self.calendar, at, self.data["reopen"])

    def rectification_deadline(self, at: datetime) -> datetime:
        return _span(self.calendar, at, self.data["rectification"])

    @property
    def warning_window(self) -> timedelta:
        return timedelta(hours=float(self.data.get("warning", {}).get("hours_before", 24)))

    @property
    def duplicate_window(self) -> timedelta:
        return timedelta(days=float(self.data.get("duplicate_window_days", 7)))


@lru_cache(maxsize=1)
def default_policy() -> DeadlinePolicy:
    return DeadlinePolicy.load()
