"""The content-addressed store: same bytes stored once, never overwritten, capped."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from app.errors import PayloadTooLarge
from app.services.storage import FileSystemStore


def test_put_open_exists(tmp_path: Path) -> None:
    store = FileSystemStore(tmp_path)
    data = b"bill of lading " * 1000
    sha, size = store.put(io.BytesIO(data))
    assert sha == hashlib.sha256(data).hexdigest() and size == len(data)
    assert store.exists(sha)
    assert store.path_for(sha) == tmp_path / sha[:2] / sha[2:4] / sha
    with store.open(sha) as handle:
        assert handle.read() == data
    assert not any((tmp_path / "tmp").iterdir())


def test_same_bytes_twice_keep_the_first_file(tmp_path: Path) -> None:
    store = FileSystemStore(tmp_path)
    sha, _ = store.put(io.BytesIO(b"invoice"))
    first = store.path_for(sha).stat()
    assert sha == store.put(io.BytesIO(b"invoice"))[0]
    again = store.path_for(sha).stat()
    assert (first.st_ino, first.st_mtime_ns) == (again.st_ino, again.st_mtime_ns)
    assert not os.access(store.path_for(sha), os.W_OK) or os.geteuid() == 0
    assert store.path_for(sha).stat().st_mode & 0o222 == 0  # stored read-only


def test_oversized_stream_leaves_nothing(tmp_path: Path) -> None:
    store = FileSystemStore(tmp_path)
    with pytest.raises(PayloadTooLarge):
        store.put(io.BytesIO(b"x" * 5000), max_bytes=4096)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_bad_digest_is_refused(tmp_path: Path) -> None:
    store = FileSystemStore(tmp_path)
    with pytest.raises(ValueError):
        store.path_for("../../etc/passwd")
    assert not store.exists("0" * 64)
