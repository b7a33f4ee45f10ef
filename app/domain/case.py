"""Detention case states and deadlines (DESIGN.md §6, uflpa-domain.md §1.5). Pure.

States: received -> admitted, or received -> detained -> rebuttal_submitted ->
released | excluded; deemed_excluded when no determination exists by the deemed-exclusion
date (presentation + 30 calendar days, 19 U.S.C. 1499(c)(5)(A)).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from app.domain.calendar import add_business_days, add_calendar_days

DETENTION_DECISION_BUSINESS_DAYS = 5  # 19 CFR 151.16: decide within 5 days, excl. weekends/holidays
NOTICE_BUSINESS_DAYS = 5  # notice within 5 more days after the detention decision
DEEMED_EXCLUSION_DAYS = 30  # calendar days after presentation


class CaseState(StrEnum):
    RECEIVED = "received"
    ADMITTED = "admitted"
    DETAINED = "detained"
    REBUTTAL_SUBMITTED = "rebuttal_submitted"
    RELEASED = "released"
    EXCLUDED = "excluded"
    DEEMED_EXCLUDED = "deemed_excluded"


class DeterminationOutcome(StrEnum):
    RELEASED = "released"
    EXCLUDED = "excluded"


OPEN_STATES = frozenset({CaseState.DETAINED, CaseState.REBUTTAL_SUBMITTED})
REBUTTAL_ALLOWED_FROM = OPEN_STATES
# A reviewer may still decide a deemed-excluded case: the deemed exclusion only opens the
# importer's right to protest, it is not CBP's decision.
DETERMINATION_ALLOWED_FROM = OPEN_STATES | {CaseState.DEEMED_EXCLUDED}
CASE_STATES = frozenset(CaseState) - {CaseState.RECEIVED, CaseState.ADMITTED}


@dataclass(frozen=True, slots=True)
class CaseDeadlines:
    presented_at: date
    detention_decision_due: date
    detained_at: date | None
    notice_due: date
    notice_at: date | None
    response_due: date
    deemed_excluded_at: date

    def to_dict(self) -> dict[str, Any]:
        return {
            "presented_at": self.presented_at.isoformat(),
            "detention_decision_due": self.detention_decision_due.isoformat(),
            "detained_at": None if self.detained_at is None else self.detained_at.isoformat(),
            "notice_due": self.notice_due.isoformat(),
            "notice_at": None if self.notice_at is None else self.notice_at.isoformat(),
            "response_due": self.response_due.isoformat(),
            "deemed_excluded_at": self.deemed_excluded_at.isoformat(),
        }


def deadlines(
    presented_at: date,
    *,
    detained_at: date | None = None,
    notice_at: date | None = None,
    response_days: int = 30,
) -> CaseDeadlines:
    """Deadlines from presentation. Until the detention decision (or the notice) is recorded,
    the next deadline counts from the latest date the previous step was due."""
    decision_due = add_business_days(presented_at, DETENTION_DECISION_BUSINESS_DAYS)
    notice_due = add_business_days(detained_at or decision_due, NOTICE_BUSINESS_DAYS)
    return CaseDeadlines(
        presented_at=presented_at,
        detention_decision_due=decision_due,
        detained_at=detained_at,
        notice_due=notice_due,
        notice_at=notice_at,
        response_due=add_calendar_days(notice_at or notice_due, response_days),
        deemed_excluded_at=add_calendar_days(presented_at, DEEMED_EXCLUSION_DAYS),
    )


def effective_state(stored: str, deemed_excluded_at: date | None, today: date) -> CaseState:
    """The state shown: an open case on or after its deemed-exclusion date is deemed
    excluded, whether or not a sweep has recorded it yet."""
    state = CaseState(stored)
    if state in OPEN_STATES and deemed_excluded_at is not None and today >= deemed_excluded_at:
        return CaseState.DEEMED_EXCLUDED
    return state
