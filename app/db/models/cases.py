"""Detention cases: uploaded documents, rebuttals, determinations and case dates.

Rows here are written once and never updated, except `cases` (the dates an importer or
reviewer records) - the shipment's state lives in `shipments.status`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, UTCDateTime, utcnow


class Document(Base):
    """An uploaded file's record. The bytes live in the content-addressed store under
    `sha256`; two records (of two importers) may share one blob."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("importer_id", "sha256"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    importer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("importers.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    media_type: Mapped[str] = mapped_column(String(100))
    original_name: Mapped[str] = mapped_column(String(255))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by: Mapped[str] = mapped_column(String(40))  # key prefix
    uploaded_by_role: Mapped[str] = mapped_column(String(16))


class Case(Base):
    """Dates of a detention case as recorded by the importer or a reviewer. Without a row,
    presentation is the entry date (or the submission date)."""

    __tablename__ = "cases"

    shipment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("shipments.id", ondelete="CASCADE"), primary_key=True
    )
    presented_on: Mapped[date | None] = mapped_column(Date)
    detained_on: Mapped[date | None] = mapped_column(Date)
    notice_on: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(40))


class Rebuttal(Base):
    """An applicability review or exception request, with its evidence and the review of it."""

    __tablename__ = "rebuttals"
    __table_args__ = (UniqueConstraint("shipment_id", "sequence"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    shipment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("shipments.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    narrative: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # A corrected manifest is a new version attached here; shipments.manifest never changes.
    manifest_version: Mapped[int] = mapped_column(Integer)
    revised_manifest: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    revised_manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    assessment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("assessments.id"))
    review: Mapped[dict[str, Any]] = mapped_column(JSON)
    status_before: Mapped[str] = mapped_column(String(24))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_by: Mapped[str] = mapped_column(String(40))
    submitted_by_role: Mapped[str] = mapped_column(String(16))


class RebuttalDocument(Base):
    """Which documents a rebuttal relies on (so none can go missing under it)."""

    __tablename__ = "rebuttal_documents"

    rebuttal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rebuttals.id"), primary_key=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"), primary_key=True)


class Determination(Base):
    """A reviewer's final determination. One per shipment (the unique constraint is the last
    line of defence against two racing determinations)."""

    __tablename__ = "determinations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    shipment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("shipments.id"), unique=True)
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    status_before: Mapped[str] = mapped_column(String(24))
    decision_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[str] = mapped_column(String(40))
    decided_by_role: Mapped[str] = mapped_column(String(16))
