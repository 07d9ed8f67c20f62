"""Working-day calendar: weekends plus official holidays and make-up working days from holidays.yaml.

Times are Beijing time (UTC+8, no DST). Note: this module is `workorders.calendar`; it never shadows
the standard library because it is always imported by its package name.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path

import yaml

TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
HOLIDAYS_FILE = Path(__file__).with_name("holidays.yaml")


def now() -> datetime:
    return datetime.now(TZ)


def to_local(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=TZ)
    return value.astimezone(TZ)


class WorkingCalendar:
    def __init__(self, holidays: set[date] | None = None, workdays: set[date] | None = None,
                 years: set[int] | None = None):
        self.holidays = set(holidays or ())
        self.workdays = set(workdays or ())
        self.years = set(years or ())

    @classmethod
    def from_file(cls, path: Path | str = HOLIDAYS_FILE) -> "WorkingCalendar":
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        holidays, workdays, years = set(), set(), set()
        for year, block in data.items():
            years.add(int(year))
            for d in (block or {}).get("holidays", []) or []:
                holidays.add(d if isinstance(d, date) else date.fromisoformat(str(d)))
            for d in (block or {}).get("workdays", []) or []:
                workdays.add(d if isinstance(d, date) else date.fromisoformat(str(d)))
        overlap = holidays & workdays
        if overlap:
            raise ValueError(f"dates both holiday and workday in {path}: {sorted(overlap)}")
        return cls(holidays, workdays, years)

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (start itself not counted); n=0 -> start."""
        if n < 0:
            raise ValueError("n must be >= 0")
        day = start
        counted = 0
        while counted < n:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def deadline_after_working_days(self, start: datetime, n: int) -> datetime:
        """End of the n-th working day after the day of `start` (Beijing time)."""
        day = self.add_working_days(to_local(start).date(), n)
        return datetime.combine(day, time(23, 59, 59), TZ)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


@lru_cache(maxsize=1)
def default_calendar() -> WorkingCalendar:
    return WorkingCalendar.from_file()
