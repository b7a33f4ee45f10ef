"""Shared helpers for the official-format parsers: strict decoding and row-numbered CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from app.errors import InvalidListFile

csv.field_size_limit(10_000_000)


def decode_text(data: bytes, what: str) -> str:
    """UTF-8 (BOM tolerated); an empty or undecodable file is rejected, never guessed at."""
    if not data or not data.strip(b"\x00\x1a \r\n\t"):
        raise InvalidListFile(f"{what}: the file is empty", file=what)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidListFile(
            f"{what}: line {line}: not valid UTF-8 ({exc.reason})", file=what, row=line
        ) from exc
    return text


def csv_rows(text: str, what: str) -> Iterator[tuple[int, list[str]]]:
    """Yield (row number, cells); row numbers count physical records from 1 (header is 1)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    row_no = 0
    try:
        for cells in reader:
            row_no += 1
            yield row_no, cells
    except csv.Error as exc:
        raise InvalidListFile(
            f"{what}: row {row_no + 1}: malformed CSV ({exc})", file=what, row=row_no + 1
        ) from exc


def fail(what: str, row: int, reason: str) -> InvalidListFile:
    return InvalidListFile(f"{what}: row {row}: {reason}", file=what, row=row)


def split_multi(value: str, sep: str = ";") -> list[str]:
    return [part.strip() for part in value.split(sep) if part.strip()]


def has_han(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in text)
