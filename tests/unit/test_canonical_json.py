"""canonical_json must print exactly what the standard library prints: every stored hash
(decision chain, findings, manifest bodies) was computed over those bytes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.jsonutil import canonical_json


def stdlib(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.uuids()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.datetimes(timezones=st.just(UTC))
    | st.dates()
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=500, deadline=None)
@given(values)
def test_same_bytes_as_the_standard_library(value: Any) -> None:
    assert canonical_json(value) == stdlib(value)


def test_the_cases_where_orjson_prints_numbers_differently() -> None:
    for value in (1e-05, 1e-07, 1e16, 1.5e300, -4.8e-05, 0.00001, 10**20, {1: "int key"}):
        assert canonical_json(value) == stdlib(value)


def test_strings_dates_and_ids_as_in_stored_records() -> None:
    value = {
        "name": '新疆生产建设兵团 \u2028 \x7f \x00 "quoted" \\',
        "at": datetime(2026, 11, 22, 10, 0, tzinfo=UTC),
        "on": date(2026, 11, 22),
        "id": uuid.UUID(int=1),
        "value": Decimal("1000.50"),
        "Z": [True, None, 2.5],
    }
    assert canonical_json(value) == stdlib(value)
