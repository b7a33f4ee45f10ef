"""Which files the service accepts as evidence, checked twice: the declared media type and
the content's own signature (magic bytes). A PNG declared as PDF, an executable declared as
text, or a ZIP that is not a spreadsheet is refused."""

from __future__ import annotations

import zipfile
from typing import BinaryIO

from app.errors import UnsupportedMediaType

# Declared media type (and accepted aliases) -> canonical type.
ALIASES: dict[str, str] = {
    "application/pdf": "application/pdf",
    "image/png": "image/png",
    "image/jpeg": "image/jpeg",
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/tiff": "image/tiff",
    "image/webp": "image/webp",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ),
    "application/vnd.ms-excel": "application/vnd.ms-excel",
    "application/vnd.oasis.opendocument.spreadsheet": (
        "application/vnd.oasis.opendocument.spreadsheet"
    ),
    "text/csv": "text/csv",
    "application/csv": "text/csv",
    "text/plain": "text/plain",
    "application/xml": "application/xml",
    "text/xml": "application/xml",
    "application/json": "application/json",
}
ACCEPTED = sorted(set(ALIASES.values()))

_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ODS = "application/vnd.oasis.opendocument.spreadsheet"
_TEXT_TYPES = frozenset({"text/csv", "text/plain", "application/xml", "application/json"})
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/vnd.ms-excel"),  # OLE2 compound file
)
_EXECUTABLES: tuple[bytes, ...] = (
    b"MZ",  # Windows PE
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",  # Mach-O
    b"\xfe\xed\xfa\xcf",
    b"\xcf\xfa\xed\xfe",
    b"\xce\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O universal / Java class
)
HEAD_BYTES = 8192


def canonical_type(declared: str | None) -> str:
    """The canonical accepted type for a declared Content-Type, or 415."""
    base = (declared or "").split(";", 1)[0].strip().lower()
    canonical = ALIASES.get(base)
    if canonical is None:
        raise UnsupportedMediaType(
            f"media type {base or '(none)'!r} is not accepted",
            errors=[{"field": "file", "reason": f"declared type must be one of {ACCEPTED}"}],
        )
    return canonical


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    body = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of the sample is still text
        if exc.start < len(body) - 3:
            return False
    controls = sum(1 for b in body if b < 32 and b not in (9, 10, 12, 13))
    return controls <= len(body) // 100


def _zip_kind(stream: BinaryIO) -> str | None:
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                mimetype = archive.read("mimetype").decode("ascii", "replace").strip()
                return _ODS if mimetype == _ODS else None
            if "[Content_Types].xml" in names and any(n.startswith("xl/") for n in names):
                return _XLSX
    except (zipfile.BadZipFile, OSError, KeyError, ValueError):
        return None
    return None


def sniff(stream: BinaryIO) -> str | None:
    """The content's type from its signature ("text" for text), None when unrecognised.
    Leaves the stream at position 0."""
    stream.seek(0)
    head = stream.read(HEAD_BYTES)
    stream.seek(0)
    try:
        if any(head.startswith(sig) for sig in _EXECUTABLES):
            return "executable"
        for signature, media_type in _SIGNATURES:
            if head.startswith(signature):
                return media_type
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return "image/webp"
        if head.startswith(b"PK\x03\x04"):
            return _zip_kind(stream)
        if _looks_like_text(head):
            return "text"
        return None
    finally:
        stream.seek(0)


def _text_fits(declared: str, stream: BinaryIO) -> bool:
    head = stream.read(HEAD_BYTES).lstrip(b"\xef\xbb\xbf").lstrip()
    stream.seek(0)
    if declared == "application/json":
        return head[:1] in (b"{", b"[")
    if declared == "application/xml":
        return head[:1] == b"<"
    return True


def check_content(declared: str, stream: BinaryIO) -> None:
    """415 unless the content's signature agrees with the declared (canonical) type."""
    found = sniff(stream)
    if declared in _TEXT_TYPES:
        ok = found == "text" and _text_fits(declared, stream)
    else:
        ok = found == declared
    if not ok:
        what = {None: "unrecognised content", "text": "text"}.get(found, found)
        raise UnsupportedMediaType(
            f"the file is declared {declared!r} but its content is {what}",
            errors=[{"field": "file", "reason": f"content does not match {declared}"}],
        )
