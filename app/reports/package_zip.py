"""The rebuttal package as a ZIP: the PDF plus every exhibit file renamed by its exhibit number
(`Exhibit-03_CT-02_ginning-records.pdf`), streamed so large exhibits never sit in memory.

The exhibit bytes come from a callable `open_document(sha256) -> BinaryIO` (the document
store). Each file's SHA-256 is recomputed while it is copied; a file whose bytes do not match
the hash in the package aborts the stream, because a package whose index lies about its
exhibits must not reach CBP.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

from app.reports.model import ExhibitFacts, ExhibitFile

CHUNK = 64 * 1024
SLUG_LENGTH = 48

OpenDocument = Callable[[str], BinaryIO]


class ExhibitIntegrityError(Exception):
    """An exhibit's stored bytes do not hash to the SHA-256 the package lists."""


@dataclass(frozen=True, slots=True)
class ZipMember:
    name: str
    file: ExhibitFile


def slug(text: str, length: int = SLUG_LENGTH) -> str:
    """ASCII, lower case, hyphens: safe in any file system and any unzip tool."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return cleaned[:length].rstrip("-") or "document"


def _extension(file: ExhibitFile) -> str:
    suffix = PurePosixPath(file.file_name).suffix.lower()
    if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
        return suffix
    return mimetypes.guess_extension(file.media_type.split(";")[0].strip()) or ".bin"


def exhibit_members(exhibits: Sequence[ExhibitFacts]) -> list[ZipMember]:
    """The ZIP names of every exhibit file and translation, in exhibit order."""
    width = max(2, len(str(max((e.number for e in exhibits), default=0))))
    members: list[ZipMember] = []
    for exhibit in sorted(exhibits, key=lambda e: e.number):
        stem = f"Exhibit-{exhibit.number:0{width}d}_{slug(exhibit.checklist_id, 12).upper()}"
        stem += f"_{slug(exhibit.title)}"
        many = len(exhibit.files) > 1
        for index, file in enumerate(exhibit.files, start=1):
            part = f"_part-{index}" if many else ""
            members.append(ZipMember(f"{stem}{part}{_extension(file)}", file))
        if exhibit.translation is not None:
            translation = exhibit.translation
            members.append(
                ZipMember(f"{stem}_EN-translation{_extension(translation)}", translation)
            )
    return members


def package_pdf_name(reference: str) -> str:
    return f"{slug(reference, 64).upper()}_rebuttal-package.pdf"


class _Spool(io.RawIOBase):
    """A write-only sink that hands out what zipfile wrote since the last drain."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


def iter_package_zip(
    pdf: bytes,
    reference: str,
    exhibits: Sequence[ExhibitFacts],
    open_document: OpenDocument,
) -> Iterator[bytes]:
    """Yield the ZIP in chunks: the PDF, every exhibit file, and SHA256SUMS listing them."""
    spool = _Spool()
    sums: list[str] = []
    # zipfile sees a non-seekable stream and writes data descriptors after each member.
    with zipfile.ZipFile(spool, mode="w", compression=zipfile.ZIP_DEFLATED) as archive:
        pdf_name = package_pdf_name(reference)
        archive.writestr(pdf_name, pdf)
        sums.append(f"{hashlib.sha256(pdf).hexdigest()}  {pdf_name}")
        yield spool.drain()
        for member in exhibit_members(exhibits):
            digest = hashlib.sha256()
            info = zipfile.ZipInfo(member.name)
            info.compress_type = zipfile.ZIP_DEFLATED
            with open_document(member.file.sha256) as source, archive.open(info, "w") as target:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    target.write(chunk)
                    if out := spool.drain():
                        yield out
            if digest.hexdigest() != member.file.sha256:
                raise ExhibitIntegrityError(
                    f"{member.name}: stored bytes hash to {digest.hexdigest()}, "
                    f"not {member.file.sha256}"
                )
            sums.append(f"{member.file.sha256}  {member.name}")
            yield spool.drain()
        archive.writestr("SHA256SUMS", "\n".join(sums) + "\n")
    yield spool.drain()


def package_zip_bytes(
    pdf: bytes, reference: str, exhibits: Sequence[ExhibitFacts], open_document: OpenDocument
) -> bytes:
    """The whole ZIP in memory (tests, small packages)."""
    return b"".join(iter_package_zip(pdf, reference, exhibits, open_document))
