"""A bounded memo for the results of pure functions that see the same inputs again and again.

Manifests repeat themselves: the same suppliers, addresses and materials arrive shipment
after shipment, so scanning each text once per rule set saves most of the scanning. The
memo holds results only, never anything a caller could change (results are frozen), so a
hit gives exactly what a fresh call would. When full it starts over: crude, but bounded,
and it refills with what is in use.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class Memo(Generic[V]):
    __slots__ = ("_entries", "_size")

    def __init__(self, size: int) -> None:
        self._entries: dict[Hashable, V] = {}
        self._size = size

    def get(self, key: Hashable) -> V | None:
        return self._entries.get(key)

    def put(self, key: Hashable, value: V) -> None:
        if len(self._entries) >= self._size:
            self._entries.clear()
        self._entries[key] = value

    def __len__(self) -> int:
        return len(self._entries)
