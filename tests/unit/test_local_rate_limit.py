"""The in-process rate limiter counts exactly as `limits`' sliding-window counter does
(the shared Redis storage uses `limits` itself), and tells the same Retry-After."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from limits import parse, strategies
from limits.storage import MemoryStorage

from app.api.ratelimit import KeyRateLimiter, LocalSlidingWindow
from app.errors import RateLimited


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now


def _reference(clock: _Clock, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`limits`' own sliding-window counter in memory, on a clock the test sets."""
    import limits.storage.memory as memory_module
    import limits.strategies as strategies_module

    monkeypatch.setattr(memory_module, "time", clock)
    monkeypatch.setattr(strategies_module, "time", clock)
    return strategies.SlidingWindowCounterRateLimiter(MemoryStorage())


@settings(max_examples=60, deadline=None)
@given(
    amount=st.integers(min_value=1, max_value=6),
    gaps=st.lists(st.floats(min_value=0, max_value=25, allow_nan=False), max_size=60),
    keys=st.lists(st.sampled_from(["a", "b"]), min_size=60, max_size=60),
)
def test_counts_and_retry_after_match_limits(
    amount: int, gaps: list[float], keys: list[str]
) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        clock = _Clock()
        clock.now = 1_000_000.0
        reference = _reference(clock, monkeypatch)
        item = parse(f"{amount}/10 seconds")
        local = LocalSlidingWindow(amount, 10)
        for gap, key in zip(gaps, keys, strict=False):
            clock.now += gap
            allowed = reference.hit(item, key)
            assert local.hit(key, clock.now) is allowed, (clock.now, key)
            if not allowed:
                expected = reference.get_window_stats(item, key).reset_time - clock.now
                got = local.seconds_to_next_hit(key, clock.now)
                assert math.isclose(got, expected, abs_tol=1e-6), (clock.now, key, got, expected)


def test_refusal_carries_retry_after_within_the_window() -> None:
    limiter = KeyRateLimiter("3/minute", "memory://")
    for _ in range(3):
        limiter.check("key")
    with pytest.raises(RateLimited) as refused:
        limiter.check("key")
    retry_after = int(refused.value.extra["headers"]["Retry-After"])
    assert 1 <= retry_after <= 60
    limiter.check("other key")  # another key has its own budget


def test_a_key_regains_its_whole_budget_once_a_full_window_has_passed_quietly() -> None:
    local = LocalSlidingWindow(2, 60)
    assert [local.hit("k", 0.0), local.hit("k", 1.0), local.hit("k", 2.0)] == [True, True, False]
    assert [local.hit("k", 180.0), local.hit("k", 181.0), local.hit("k", 182.0)] == [
        True,
        True,
        False,
    ]
