"""Entity-list versions: every import is immutable; the newest per source is active.

An import either stores a complete new version (entries, counts, file hash, who, when) or
raises and writes nothing, leaving the previous version active.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.models import ListEntryRecord, ListVersion, Shipment
from app.errors import InvalidListFile
from app.screening.entry import ListEntry, ParsedList
from app.screening.sources import SOURCES, bundled_sources, parse_source
from app.services import jobs

INSERT_CHUNK = 2000


def files_sha256(files: Mapping[str, bytes]) -> str:
    """One hash over a file set, independent of the order the files arrived in."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


@dataclass(frozen=True)
class ImportResult:
    version: ListVersion
    created: bool  # False when the same files were already the active version
    rescreen_job_id: uuid.UUID | None = None  # the re-screen this import queued


def active_versions(session: Session) -> list[ListVersion]:
    newest = (
        select(ListVersion.source, func.max(ListVersion.imported_at).label("at"))
        .group_by(ListVersion.source)
        .subquery()
    )
    query = select(ListVersion).join(
        newest, (ListVersion.source == newest.c.source) & (ListVersion.imported_at == newest.c.at)
    )
    return sorted(session.scalars(query), key=lambda v: v.source)


def active_version(session: Session, source: str) -> ListVersion | None:
    return session.scalar(
        select(ListVersion)
        .where(ListVersion.source == source)
        .order_by(ListVersion.imported_at.desc())
        .limit(1)
    )


def import_list(
    session: Session, source: str, files: Mapping[str, bytes], actor: str
) -> ImportResult:
    """Parse a file set and store it as a new list version in one transaction."""
    parsed = parse_source(source, files)  # raises InvalidListFile before anything is written
    return _store(session, source, parsed, files_sha256(files), actor)


def import_uploaded(
    session: Session, source: str, filename: str, data: bytes, actor: str
) -> ImportResult:
    """Parse one uploaded official file (OFAC: a ZIP of its CSV set) and store it."""
    if source not in SOURCES:
        raise InvalidListFile(f"unknown list source {source!r}; known: {sorted(SOURCES)}")
    parsed = SOURCES[source].parse_upload(data)
    return _store(session, source, parsed, files_sha256({filename: data}), actor)


def _store(session: Session, source: str, parsed: ParsedList, sha: str, actor: str) -> ImportResult:
    current = active_version(session, source)
    if current is not None and current.file_sha256 == sha:
        # End the (read-only) transaction: on SQLite it began with BEGIN IMMEDIATE and holds
        # the write lock, and the caller's index refresh opens a session of its own.
        session.commit()
        return ImportResult(current, created=False)
    version = ListVersion(
        source=source,
        version=f"sha256:{sha[:16]}",
        file_sha256=sha,
        entry_count=len(parsed.entries),
        counts=dict(parsed.counts),
        imported_at=utcnow(),
        imported_by=actor,
    )
    session.add(version)
    session.flush()
    rows = [
        {
            "list_version_id": version.id,
            "list_id": e.list_id,
            "entry_id": e.entry_id,
            "payload": e.to_dict(),
        }
        for e in parsed.entries
    ]
    for start in range(0, len(rows), INSERT_CHUNK):
        session.execute(insert(ListEntryRecord), rows[start : start + INSERT_CHUNK])
    job_id = _queue_rescreen(session, version, current, actor)
    session.commit()
    return ImportResult(version, created=True, rescreen_job_id=job_id)


def _queue_rescreen(
    session: Session, version: ListVersion, previous: ListVersion | None, actor: str
) -> uuid.UUID | None:
    """Queue the re-screen of past shipments in the import's own transaction, so an import
    is never committed without it. A source's first version on an empty database (the
    bundled lists on first start) has nothing to re-screen."""
    if previous is None and session.scalar(select(Shipment.id).limit(1)) is None:
        return None
    job = jobs.enqueue(
        session,
        jobs.RESCREEN_LIST_UPDATE,
        {
            "source": version.source,
            "version_id": str(version.id),
            "previous_version_id": None if previous is None else str(previous.id),
        },
        created_by=actor,
    )
    return job.id


def entries_of(session: Session, versions: Sequence[ListVersion]) -> list[ListEntry]:
    ids = [v.id for v in versions]
    if not ids:
        return []
    payloads = session.scalars(
        select(ListEntryRecord.payload)
        .where(ListEntryRecord.list_version_id.in_(ids))
        .order_by(ListEntryRecord.id)
        .execution_options(yield_per=5000)
    )
    return [ListEntry.from_dict(p) for p in payloads]


def versions_map(versions: Sequence[ListVersion]) -> dict[str, str]:
    return {v.source: v.version for v in versions}


def load_bundled_lists(session: Session, fixtures_dir: Path) -> list[ImportResult]:
    return [
        import_list(session, source, files, actor="bundled")
        for source, files in bundled_sources(fixtures_dir / "lists")
    ]


def describe(version: ListVersion) -> dict[str, Any]:
    return {
        "id": str(version.id),
        "source": version.source,
        "version": version.version,
        "file_sha256": version.file_sha256,
        "entry_count": version.entry_count,
        "counts": version.counts,
        "imported_at": version.imported_at,
        "imported_by": version.imported_by,
    }
