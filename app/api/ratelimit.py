"""Per-key rate limits (the `limits` library): in memory per process by default, shared
across workers and hosts when UFLPA_RATE_LIMIT_STORAGE points at Redis."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse, storage, strategies

from app.errors import RateLimited


class KeyRateLimiter:
    def __init__(self, limit: str, storage_uri: str) -> None:
        self.item: RateLimitItem = parse(limit)
        # The sliding-window counter keeps two counts per key: constant time and memory per
        # hit. The exact moving window kept a timestamp per hit (up to the limit, 6,000 by
        # default) and shifted that list on every request (2% of a worker under load).
        self._limiter = strategies.SlidingWindowCounterRateLimiter(
            storage.storage_from_string(storage_uri)
        )
        # Counting in this process's memory takes microseconds; a shared store (Redis) is a
        # network round trip, which must not block the event loop.
        self.in_memory = storage_uri.startswith("memory://")

    def check(self, key_id: str) -> None:
        if self._limiter.hit(self.item, key_id):
            return
        reset = self._limiter.get_window_stats(self.item, key_id).reset_time
        retry_after = max(1, math.ceil(reset - time.time()))
        raise RateLimited(
            f"rate limit of {self.item} per key exceeded; retry in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )
