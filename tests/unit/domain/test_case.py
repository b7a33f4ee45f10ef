"""Case states: the deemed exclusion is computed on read from the presentation date."""

from __future__ import annotations

from datetime import date

from app.domain.case import (
    DETERMINATION_ALLOWED_FROM,
    REBUTTAL_ALLOWED_FROM,
    CaseState,
    effective_state,
)


def test_open_case_becomes_deemed_excluded_on_its_date() -> None:
    deemed = date(2026, 12, 25)
    assert effective_state("detained", deemed, date(2026, 12, 24)) is CaseState.DETAINED
    assert effective_state("detained", deemed, deemed) is CaseState.DEEMED_EXCLUDED
    assert (
        effective_state("rebuttal_submitted", deemed, date(2027, 1, 2)) is CaseState.DEEMED_EXCLUDED
    )


def test_decided_and_admitted_cases_never_become_deemed_excluded() -> None:
    late = date(2030, 1, 1)
    for stored in ("admitted", "released", "excluded"):
        assert effective_state(stored, date(2026, 12, 25), late) is CaseState(stored)


def test_transitions() -> None:
    assert CaseState.ADMITTED not in REBUTTAL_ALLOWED_FROM
    assert CaseState.RELEASED not in REBUTTAL_ALLOWED_FROM
    assert CaseState.DEEMED_EXCLUDED not in REBUTTAL_ALLOWED_FROM
    assert CaseState.REBUTTAL_SUBMITTED in REBUTTAL_ALLOWED_FROM
    assert CaseState.RELEASED not in DETERMINATION_ALLOWED_FROM
    assert CaseState.EXCLUDED not in DETERMINATION_ALLOWED_FROM
    assert CaseState.DEEMED_EXCLUDED in DETERMINATION_ALLOWED_FROM
