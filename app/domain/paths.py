"""Ordering of manifest paths: lines[2] before lines[10], a node before its children."""

from __future__ import annotations

import re
from functools import lru_cache

_PART = re.compile(r"(\d+)|(\D+)")


@lru_cache(maxsize=8192)  # paths repeat across manifests: lines[0].inputs[0].supplier ...
def path_sort_key(path: str) -> tuple[tuple[int, int | str], ...]:
    """Natural sort key; "shipment" and top-level fields sort before lines."""
    return tuple((0, int(num)) if num else (1, text) for num, text in _PART.findall(path))
