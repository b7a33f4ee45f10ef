"""A short-lived, per-process cache of authenticated API keys.

Every request authenticates, and the key look-up was a database round trip (and, on the
threaded path, a thread hand-off) per request: a sizeable share of a submission's cost.
A key that authenticated moments ago is trusted again for `ttl` seconds without asking
the database. The price is that a revocation (`uflpa keys revoke`) reaches a running
worker only when its cached entry expires: at most `ttl` seconds, one by default.
`ttl` 0 turns the cache off.

Entries are keyed by the presented key's digest (the one stored for it, `key_digest`),
never the key itself, so a memory dump does not hold usable secrets; only keys that authenticated are cached (unknown,
wrong or revoked keys always go to the database).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from app.services.keys import key_digest
from app.services.principal import Principal

MAX_ENTRIES = 10_000  # distinct live keys per worker; beyond that the cache starts over


class PrincipalCache:
    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def get(self, presented: str) -> Principal | None:
        if self._ttl <= 0:
            return None
        entry = self._entries.get(key_digest(presented))
        if entry is None or entry[0] <= self._clock():
            return None
        return entry[1]

    def put(self, presented: str, principal: Principal) -> None:
        if self._ttl <= 0:
            return
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key_digest(presented)] = (self._clock() + self._ttl, principal)
