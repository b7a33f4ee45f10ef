"""US federal holidays and business-day arithmetic for detention deadlines (19 CFR 151.16).

Pure: computes the holidays of any year from 5 U.S.C. 6103 rules, no table to keep current.
A holiday falling on a Saturday is observed on the Friday before, on a Sunday on the Monday
after (the federal observed-date rule). Business days are Monday-Friday minus observed
holidays.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

_MONDAY, _THURSDAY, _SATURDAY, _SUNDAY = 0, 3, 5, 6


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (1-based) `weekday` of a month."""
    first = date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    return first + timedelta(days=offset + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    last = next_month - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def observed(day: date) -> date:
    """Saturday -> the Friday before, Sunday -> the Monday after."""
    if day.weekday() == _SATURDAY:
        return day - timedelta(days=1)
    if day.weekday() == _SUNDAY:
        return day + timedelta(days=1)
    return day


def federal_holidays(year: int) -> dict[date, str]:
    """Observed federal holidays whose observed date falls in `year` (name by date).

    New Year's Day of `year + 1` observed on Friday Dec 31 of `year` is included here, and
    New Year's Day of `year` observed on Dec 31 of the year before is not.
    """
    return dict(_holidays(year))


@lru_cache(maxsize=64)
def _holidays(year: int) -> tuple[tuple[date, str], ...]:
    fixed = {
        "New Year's Day": (1, 1),
        "Juneteenth National Independence Day": (6, 19),
        "Independence Day": (7, 4),
        "Veterans Day": (11, 11),
        "Christmas Day": (12, 25),
    }
    out: dict[date, str] = {}
    for candidate_year in (year, year + 1):
        for name, (month, day) in fixed.items():
            if name.startswith("Juneteenth") and candidate_year < 2021:
                continue  # a federal holiday since 2021 (Pub. L. 117-17)
            when = observed(date(candidate_year, month, day))
            if when.year == year:
                out[when] = name
    out[_nth_weekday(year, 1, _MONDAY, 3)] = "Birthday of Martin Luther King, Jr."
    out[_nth_weekday(year, 2, _MONDAY, 3)] = "Washington's Birthday"
    out[_last_weekday(year, 5, _MONDAY)] = "Memorial Day"
    out[_nth_weekday(year, 9, _MONDAY, 1)] = "Labor Day"
    out[_nth_weekday(year, 10, _MONDAY, 2)] = "Columbus Day"
    out[_nth_weekday(year, 11, _THURSDAY, 4)] = "Thanksgiving Day"
    return tuple(sorted(out.items()))


@lru_cache(maxsize=64)
def _holiday_dates(year: int) -> frozenset[date]:
    return frozenset(day for day, _ in _holidays(year))


def is_holiday(day: date) -> bool:
    """True on an observed federal holiday."""
    return day in _holiday_dates(day.year)


def is_business_day(day: date) -> bool:
    return day.weekday() < _SATURDAY and not is_holiday(day)


def add_business_days(start: date, days: int) -> date:
    """The `days`-th business day after `start` (start itself never counts)."""
    if days < 0:
        raise ValueError("days must not be negative")
    current = start
    remaining = days
    while remaining:
        current += timedelta(days=1)
        if is_business_day(current):
            remaining -= 1
    return current


def add_calendar_days(start: date, days: int) -> date:
    return start + timedelta(days=days)
