"""The per-process cache of authenticated keys: entries expire, ttl 0 disables it, and
the presented key itself is never stored."""

from __future__ import annotations

import uuid

import pytest

from app.services import principal_cache
from app.services.principal import Principal, Role
from app.services.principal_cache import PrincipalCache

KEY = "uflpa_0123456789ab_" + "s" * 43


def principal(prefix: str = "uflpa_0123456789ab") -> Principal:
    return Principal(
        key_id=uuid.uuid4(),
        key_prefix=prefix,
        role=Role.IMPORTER,
        importer_ids=frozenset(),
        importer_names=frozenset(),
    )


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_cached_key_is_trusted_until_its_ttl_passes() -> None:
    clock = Clock()
    cache = PrincipalCache(ttl=1.0, clock=clock)
    assert cache.get(KEY) is None
    who = principal()
    cache.put(KEY, who)
    assert cache.get(KEY) is who
    clock.now += 0.99
    assert cache.get(KEY) is who
    clock.now += 0.02
    assert cache.get(KEY) is None  # expired: the next request asks the database


def test_only_the_exact_key_hits() -> None:
    cache = PrincipalCache(ttl=5.0)
    cache.put(KEY, principal())
    assert cache.get(KEY[:-1] + "t") is None  # same key id, another secret
    assert cache.get(KEY + " ") is None


def test_ttl_zero_caches_nothing() -> None:
    cache = PrincipalCache(ttl=0)
    cache.put(KEY, principal())
    assert cache.get(KEY) is None


def test_the_secret_is_not_kept_in_memory() -> None:
    cache = PrincipalCache(ttl=5.0)
    cache.put(KEY, principal())
    assert KEY not in cache._entries
    assert all(KEY not in stored for stored in cache._entries)


def test_a_full_cache_starts_over(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(principal_cache, "MAX_ENTRIES", 3)
    cache = PrincipalCache(ttl=5.0)
    keys = [f"{KEY}{n}" for n in range(4)]
    for key in keys:
        cache.put(key, principal())
    assert cache.get(keys[3]) is not None
    assert [cache.get(key) for key in keys[:3]] == [None, None, None]
