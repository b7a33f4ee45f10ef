"""The replay screener cache: bounded, least recently used out, one build per key."""

from __future__ import annotations

import threading
import time

from app.services.replay import ScreenerCache, ScreenerKey, findings_diff


def key(n: int) -> ScreenerKey:
    return ("sha256:rules", (("uflpa", f"v{n}"),))


def test_evicts_the_least_recently_used() -> None:
    cache = ScreenerCache(size=2)
    built: list[int] = []

    def builder(n: int):  # type: ignore[no-untyped-def]
        return lambda: built.append(n)  # returns None: a list set with no entries

    cache.get(key(1), builder(1))
    cache.get(key(2), builder(2))
    cache.get(key(1), builder(1))  # 1 is now the most recent
    cache.get(key(3), builder(3))  # evicts 2
    cache.get(key(1), builder(1))
    cache.get(key(2), builder(2))  # rebuilt
    assert built == [1, 2, 3, 2]
    assert cache.builds == 4


def test_concurrent_requests_for_one_key_build_once() -> None:
    cache = ScreenerCache(size=2)
    calls: list[int] = []

    def slow_build() -> None:
        calls.append(1)
        time.sleep(0.2)

    threads = [threading.Thread(target=cache.get, args=(key(9), slow_build)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1]


def test_findings_diff_by_code_and_path() -> None:
    a = {"code": "XUAR_PLACE", "path": "lines[0]", "message": "x"}
    b = {"code": "ORIGIN_CHINA", "path": "lines[0]", "message": "y"}
    a_changed = {**a, "message": "changed"}
    diff = findings_diff([a, b], [a_changed])
    assert diff["only_recorded"] == [b]
    assert diff["only_replayed"] == []
    assert diff["changed"] == [{"recorded": a, "replayed": a_changed}]
