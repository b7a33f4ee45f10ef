"""US federal holidays (observed-date rules) and business-day deadlines."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain.calendar import (
    add_business_days,
    federal_holidays,
    is_business_day,
    observed,
)
from app.domain.case import deadlines


def test_2026_holidays_with_observed_dates() -> None:
    holidays = federal_holidays(2026)
    assert sorted(holidays) == [
        date(2026, 1, 1),
        date(2026, 1, 19),  # MLK: third Monday of January
        date(2026, 2, 16),  # Washington's Birthday: third Monday of February
        date(2026, 5, 25),  # Memorial Day: last Monday of May
        date(2026, 6, 19),  # Juneteenth (a Friday)
        date(2026, 7, 3),  # Independence Day falls on Saturday: observed Friday
        date(2026, 9, 7),  # Labor Day: first Monday of September
        date(2026, 10, 12),  # Columbus Day: second Monday of October
        date(2026, 11, 11),
        date(2026, 11, 26),  # Thanksgiving: fourth Thursday of November
        date(2026, 12, 25),
    ]


@pytest.mark.parametrize(
    ("year", "thanksgiving"),
    [(2024, date(2024, 11, 28)), (2025, date(2025, 11, 27)), (2027, date(2027, 11, 25))],
)
def test_thanksgiving_is_the_fourth_thursday(year: int, thanksgiving: date) -> None:
    assert federal_holidays(year)[thanksgiving] == "Thanksgiving Day"


def test_sunday_holidays_move_to_monday_saturday_to_friday() -> None:
    assert observed(date(2022, 12, 25)) == date(2022, 12, 26)  # Sunday -> Monday
    assert observed(date(2027, 12, 25)) == date(2027, 12, 24)  # Saturday -> Friday
    assert date(2022, 12, 26) in federal_holidays(2022)
    assert date(2027, 12, 24) in federal_holidays(2027)
    assert date(2023, 6, 19) in federal_holidays(2023)  # Juneteenth on a Monday
    assert date(2022, 6, 20) in federal_holidays(2022)  # Juneteenth Sunday -> Monday


def test_new_year_on_saturday_is_observed_in_the_year_before() -> None:
    # 2028-01-01 is a Saturday: observed Friday 2027-12-31.
    assert federal_holidays(2027)[date(2027, 12, 31)] == "New Year's Day"
    assert date(2028, 1, 1) not in federal_holidays(2028)
    assert not is_business_day(date(2027, 12, 31))


def test_juneteenth_only_from_2021() -> None:
    assert all(day.month != 6 for day in federal_holidays(2020))
    assert date(2021, 6, 18) in federal_holidays(2021)  # Saturday 19th -> Friday


def test_business_days_skip_thanksgiving_and_weekend() -> None:
    # Presented Wed 2026-11-25: Thu 26 is Thanksgiving, 28-29 a weekend.
    assert add_business_days(date(2026, 11, 25), 5) == date(2026, 12, 3)
    assert add_business_days(date(2026, 11, 25), 1) == date(2026, 11, 27)
    assert add_business_days(date(2026, 11, 25), 0) == date(2026, 11, 25)
    with pytest.raises(ValueError):
        add_business_days(date(2026, 11, 25), -1)


def test_business_days_skip_christmas() -> None:
    # Fri 2026-12-18 + 5: Mon 21, Tue 22, Wed 23, Thu 24, (Fri 25 Christmas), Mon 28.
    assert add_business_days(date(2026, 12, 18), 5) == date(2026, 12, 28)
    # Across Christmas and New Year: Wed 2026-12-23 + 5 -> Thu 24, Mon 28, Tue 29, Wed 30,
    # Thu 31 (New Year's Day 2027 is Friday Jan 1).
    assert add_business_days(date(2026, 12, 23), 5) == date(2026, 12, 31)
    assert add_business_days(date(2026, 12, 23), 6) == date(2027, 1, 4)


def test_case_deadlines_across_thanksgiving_and_christmas() -> None:
    dates = deadlines(date(2026, 11, 25))
    assert dates.detention_decision_due == date(2026, 12, 3)
    # 5 business days after Thu Dec 3: Fri 4, Mon 7, Tue 8, Wed 9, Thu 10.
    assert dates.notice_due == date(2026, 12, 10)
    assert dates.response_due == date(2027, 1, 9)  # notice due + 30 calendar days
    assert dates.deemed_excluded_at == date(2026, 12, 25)  # presentation + 30 calendar days

    recorded = deadlines(
        date(2026, 12, 16),
        detained_at=date(2026, 12, 22),
        notice_at=date(2026, 12, 29),
        response_days=45,
    )
    # Presented Wed Dec 16: Thu 17, Fri 18, Mon 21, Tue 22, Wed 23.
    assert recorded.detention_decision_due == date(2026, 12, 23)
    # From the recorded detention on Tue Dec 22: Wed 23, Thu 24, Mon 28, Tue 29, Wed 30.
    assert recorded.notice_due == date(2026, 12, 30)
    assert recorded.response_due == date(2027, 2, 12)  # recorded notice + 45 days
    assert recorded.deemed_excluded_at == date(2027, 1, 15)
