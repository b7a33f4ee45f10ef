"""Content-addressed document store: bytes kept under their SHA-256, never overwritten.

`DocumentStore` is the one interface the services use, so an object store (S3, GCS) can
replace the file-system implementation without touching them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from app.errors import PayloadTooLarge

CHUNK_BYTES = 1024 * 1024


class DocumentStore(Protocol):
    def put(self, stream: BinaryIO, *, max_bytes: int | None = None) -> tuple[str, int]:
        """Store the stream's bytes; return (sha256 hex, size). Same bytes, same blob."""
        ...

    def open(self, sha256: str) -> BinaryIO:
        """The stored bytes for reading (the caller closes it)."""
        ...

    def exists(self, sha256: str) -> bool: ...


def _valid_sha(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("not a sha256 hex digest")
    return sha256


class FileSystemStore:
    """<root>/ab/cd/<sha256>. Writes go to <root>/tmp first, then are hard-linked into place:
    a link never replaces an existing file, so a blob once stored is never overwritten, and
    readers never see a half-written file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        sha = _valid_sha(sha256)
        return self.root / sha[:2] / sha[2:4] / sha

    def put(self, stream: BinaryIO, *, max_bytes: int | None = None) -> tuple[str, int]:
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK_BYTES):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise PayloadTooLarge(f"the document exceeds {max_bytes} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            final = self.path_for(sha)
            if not final.exists():
                final.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(tmp, 0o444)
                # FileExistsError: the same bytes were stored concurrently; keep that file.
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, final)
            return sha, size
        finally:
            tmp.unlink(missing_ok=True)

    def open(self, sha256: str) -> BinaryIO:
        return self.path_for(sha256).open("rb")

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()
