"""Evidence documents: upload (validated, hashed, stored once) and tenant-scoped reads.

Deduplication: the bytes are stored once per SHA-256 whoever uploads them. An importer that
uploads the same bytes again gets its existing document record back (created = False); a
different importer uploading the same bytes gets its own record pointing at the same blob,
so no caller can learn what another importer holds.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.models import Document, Importer
from app.errors import Forbidden, NotFound, Unprocessable
from app.services.media_types import canonical_type, check_content
from app.services.principal import Principal, Role
from app.services.storage import DocumentStore

MAX_NAME = 255


def _owner(session: Session, principal: Principal, importer_name: str | None) -> Importer:
    """The importer a new document belongs to."""
    if principal.role in (Role.REVIEWER, Role.AUDITOR):
        raise Forbidden(f"a {principal.role.value} key cannot upload documents")
    if principal.role is Role.IMPORTER and importer_name is None and principal.importer_ids:
        importer_id = sorted(principal.importer_ids)[0]
        importer = session.get(Importer, importer_id)
        assert importer is not None  # the key's importers exist by construction
        return importer
    if importer_name is None:
        raise Unprocessable(
            "say which importer the document belongs to",
            errors=[{"field": "importer", "reason": "required for broker and admin keys"}],
        )
    if principal.role is not Role.ADMIN and importer_name not in principal.importer_names:
        raise Forbidden(
            f"this key may not upload for importer '{importer_name}'",
            errors=[{"field": "importer", "reason": "not an importer this key acts for"}],
        )
    importer = session.scalar(select(Importer).where(Importer.name == importer_name))
    if importer is None:
        raise Unprocessable(
            f"no importer '{importer_name}'",
            errors=[{"field": "importer", "reason": "unknown importer"}],
        )
    return importer


def _clean_name(filename: str | None) -> str:
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:MAX_NAME] or "document"


def upload_document(
    session: Session,
    store: DocumentStore,
    principal: Principal,
    *,
    stream: BinaryIO,
    declared_type: str | None,
    filename: str | None,
    importer_name: str | None,
    max_bytes: int,
) -> tuple[Document, bool]:
    """Validate and store one upload. Returns (document, created). Nothing is stored when the
    upload is refused."""
    importer_id = _owner(session, principal, importer_name).id
    # End the read transaction before copying the bytes: on SQLite it holds the write lock.
    session.rollback()
    media_type = canonical_type(declared_type)
    stream.seek(0)
    if not stream.read(1):
        raise Unprocessable("the file is empty", errors=[{"field": "file", "reason": "empty"}])
    check_content(media_type, stream)
    sha, size = store.put(stream, max_bytes=max_bytes)
    existing = _find(session, importer_id, sha)
    if existing is not None:
        return existing, False
    document = Document(
        importer_id=importer_id,
        sha256=sha,
        size=size,
        media_type=media_type,
        original_name=_clean_name(filename),
        uploaded_at=utcnow(),
        uploaded_by=principal.key_prefix,
        uploaded_by_role=principal.role.value,
    )
    session.add(document)
    try:
        session.commit()
    except IntegrityError:
        # The same importer uploaded the same bytes concurrently: return that record.
        session.rollback()
        raced = _find(session, importer_id, sha)
        if raced is None:
            raise
        return raced, False
    return document, True


def _find(session: Session, importer_id: uuid.UUID, sha: str) -> Document | None:
    return session.scalar(
        select(Document).where(Document.importer_id == importer_id, Document.sha256 == sha)
    )


def get_document(session: Session, principal: Principal, document_id: uuid.UUID) -> Document:
    document = session.get(Document, document_id)
    # Other importers get 404, not 403: ids must not leak.
    if document is None or not principal.can_see(document.importer_id):
        raise NotFound(f"no document {document_id}")
    return document


def visible_documents(
    session: Session, principal: Principal, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Document]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.scalars(select(Document).where(Document.id.in_(wanted)))
    return {d.id: d for d in rows if principal.can_see(d.importer_id)}


def describe(document: Document) -> dict[str, object]:
    return {
        "id": str(document.id),
        "sha256": document.sha256,
        "size": document.size,
        "media_type": document.media_type,
        "original_name": document.original_name,
        "uploaded_at": document.uploaded_at,
        "uploaded_by": {"key_id": document.uploaded_by, "role": document.uploaded_by_role},
        "content_url": f"/v1/documents/{document.id}/content",
    }
