"""Working-day calendar and deadline policy (2026 official holidays)."""
from __future__ import annotations

from datetime import date, datetime

from workorders.calendar import TZ, WorkingCalendar, default_calendar
from workorders.deadlines import default_policy


def at(y, m, d, h=10):
    return datetime(y, m, d, h, tzinfo=TZ)


def test_calendar_weekends_holidays_and_makeup_days():
    cal = default_calendar()
    assert cal.is_working_day(date(2026, 3, 2))          # Monday
    assert not cal.is_working_day(date(2026, 3, 7))      # Saturday
    assert not cal.is_working_day(date(2026, 10, 1))     # 国庆 (Thursday)
    assert not cal.is_working_day(date(2026, 2, 23))     # 春节 last day (Monday)
    assert cal.is_working_day(date(2026, 2, 14))         # make-up Saturday
    assert cal.is_working_day(date(2026, 9, 20))         # make-up Sunday
    assert sum(cal.is_working_day(date(2026, 10, d)) for d in range(1, 8)) == 0


def test_sign_deadline_over_weekend_and_holiday():
    p = default_policy()
    assert p.sign_deadline(at(2026, 3, 6)).isoformat() == "2026-03-09T23:59:59+08:00"   # Fri -> Mon
    assert p.sign_deadline(at(2026, 9, 30)).isoformat() == "2026-10-08T23:59:59+08:00"  # before 国庆
    assert p.sign_deadline(at(2026, 2, 13)).isoformat() == "2026-02-14T23:59:59+08:00"  # make-up Saturday
    assert p.sign_deadline(at(2026, 1, 3)).isoformat() == "2026-01-04T23:59:59+08:00"   # holiday -> make-up Sunday


def test_handling_deadlines_by_type():
    p = default_policy()
    # 15 working days from Fri 2026-02-13: 2/14 (make-up), 2/24..2/27, 2/28 (make-up), 3/2.. -> 2026-03-12
    assert p.handling_deadline(at(2026, 2, 13), "求助").date() == date(2026, 3, 12)
    assert p.handling_deadline(at(2026, 3, 2), "投诉").date() == date(2026, 3, 23)
    # consultation: 72 calendar hours
    assert p.handling_deadline(at(2026, 3, 6, 15), "咨询") == at(2026, 3, 9, 15)
    # urgency overrides when shorter
    assert p.handling_deadline(at(2026, 3, 2, 9), "求助", "特急") == at(2026, 3, 2, 11)
    assert p.handling_deadline(at(2026, 3, 2), "表扬").date() == date(2026, 3, 9)


def test_extension_and_rectification():
    p = default_policy()
    assert p.max_extensions == 1
    assert p.extended_deadline(at(2026, 4, 30, 23)).date() == date(2026, 5, 13)  # 劳动节 5/1-5/5 skipped, 5/9 make-up counted
    assert p.rectification_deadline(at(2026, 3, 6)).date() == date(2026, 3, 13)


def test_unknown_year_falls_back_to_weekends(tmp_path):
    f = tmp_path / "h.yaml"
    f.write_text("2026:\n  holidays: [2026-01-01]\n  workdays: []\n")
    cal = WorkingCalendar.from_file(f)
    assert cal.add_working_days(date(2027, 1, 1), 1) == date(2027, 1, 4)
    assert cal.working_days_between(date(2026, 3, 2), date(2026, 3, 9)) == 5
