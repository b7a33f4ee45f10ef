"""Per-key rate limits: a sliding-window counter, in this process's memory by default,
shared across workers and hosts (the `limits` library) when UFLPA_RATE_LIMIT_STORAGE
points at Redis."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse, storage, strategies

from app.errors import RateLimited


@dataclass(slots=True)
class _Counts:
    window: int  # index of the current window: floor(time / window length)
    current: int
    previous: int


class LocalSlidingWindow:
    """The sliding-window counter of `limits`, kept in a dict of this process.

    It counts this window's hits plus last window's, weighted by how much of last window
    the sliding window still covers: two counts per key, constant time per hit. `limits`'
    own memory storage does the same, but starts a timer thread every 10 ms under load to
    expire its counters (a thread start per few requests). Here a key's counts roll over
    when its window does; the table holds one entry per API key that has been used (keys
    are authenticated before they are counted), so it needs no expiry.
    """

    def __init__(self, amount: int, seconds: int) -> None:
        self.amount = amount
        self.seconds = seconds
        self._counts: dict[str, _Counts] = {}
        self._lock = threading.Lock()  # requests assessed in the thread pool count too

    def _rolled(self, key: str, window: int) -> _Counts:
        counts = self._counts.get(key)
        if counts is None or counts.window < window - 1:
            counts = _Counts(window, 0, 0)
        elif counts.window == window - 1:
            counts = _Counts(window, 0, counts.current)
        self._counts[key] = counts
        return counts

    def _previous_covered(self, now: float) -> float:
        """Seconds of the previous window the sliding window still covers (the same
        arithmetic as `limits`, so that both round alike at the boundaries)."""
        return (1 - (((now - self.seconds) / self.seconds) % 1)) * self.seconds

    def hit(self, key: str, now: float) -> bool:
        with self._lock:
            counts = self._rolled(key, int(now // self.seconds))
            weighted = counts.previous * self._previous_covered(now) / self.seconds
            if math.floor(weighted + counts.current) + 1 > self.amount:
                return False
            counts.current += 1
            return True

    def seconds_to_next_hit(self, key: str, now: float) -> float:
        """When a refused key gets its next hit, computed as `limits` computes its reset
        time: the sooner of a previous-window hit ageing out and this window ending."""
        with self._lock:
            counts = self._rolled(key, int(now // self.seconds))
            soonest = math.inf
            if counts.previous:
                soonest = self._previous_covered(now) % (self.seconds / counts.previous)
            if counts.current:
                current_expires_in = (1 - ((now / self.seconds) % 1)) * self.seconds
                soonest = min(soonest, (current_expires_in + self.seconds) % self.seconds)
            return 0.0 if soonest == math.inf else soonest


class KeyRateLimiter:
    def __init__(self, limit: str, storage_uri: str) -> None:
        self.item: RateLimitItem = parse(limit)
        self._local = LocalSlidingWindow(self.item.amount, self.item.get_expiry())
        self._shared = (
            None
            if storage_uri.startswith("memory://")
            else strategies.SlidingWindowCounterRateLimiter(
                storage.storage_from_string(storage_uri)
            )
        )

    @property
    def in_memory(self) -> bool:
        """Counting in this process's memory takes microseconds; a shared store (Redis) is
        a network round trip, which must not block the event loop."""
        return self._shared is None

    def check(self, key_id: str) -> None:
        now = time.time()
        if self._shared is None:
            if self._local.hit(key_id, now):
                return
            wait = self._local.seconds_to_next_hit(key_id, now)
        else:
            if self._shared.hit(self.item, key_id):
                return
            wait = self._shared.get_window_stats(self.item, key_id).reset_time - now
        retry_after = max(1, math.ceil(wait))
        raise RateLimited(
            f"rate limit of {self.item} per key exceeded; retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
