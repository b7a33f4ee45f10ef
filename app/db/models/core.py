"""SQLAlchemy 2 models. The schema only changes through Alembic migrations."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, UTCDateTime, utcnow


class Importer(Base):
    __tablename__ = "importers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    """An API key. Only the SHA-256 of the secret is stored; the key is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    key_prefix: Mapped[str] = mapped_column(String(24), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    importers: Mapped[list[Importer]] = relationship(secondary="api_key_importers", lazy="joined")


class ApiKeyImporter(Base):
    __tablename__ = "api_key_importers"

    api_key_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), primary_key=True
    )
    importer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("importers.id"), primary_key=True)


class Shipment(Base):
    __tablename__ = "shipments"
    __table_args__ = (
        UniqueConstraint("importer_id", "reference"),
        Index("ix_shipments_importer_created", "importer_id", "created_at"),
        Index("ix_shipments_status", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    importer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("importers.id"))
    reference: Mapped[str] = mapped_column(String(64))
    body_sha256: Mapped[str] = mapped_column(String(64))
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(24))
    entry_date: Mapped[date | None] = mapped_column(Date)
    country_of_origin: Mapped[str | None] = mapped_column(String(2))
    declared_value: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id"))

    importer: Mapped[Importer] = relationship(lazy="joined")


class ShipmentLine(Base):
    __tablename__ = "shipment_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shipment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("shipments.id", ondelete="CASCADE"), index=True
    )
    line_index: Mapped[int] = mapped_column(Integer)
    line_number: Mapped[int] = mapped_column(Integer)
    hts_code: Mapped[str] = mapped_column(String(10), index=True)
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(16))
    value: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    country_of_origin: Mapped[str | None] = mapped_column(String(2))


class ShipmentParty(Base):
    """Every party of a manifest at every tier, with its path: the rows re-screening scans."""

    __tablename__ = "shipment_parties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shipment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("shipments.id", ondelete="CASCADE"), index=True
    )
    path: Mapped[str] = mapped_column(String(300))
    role: Mapped[str | None] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(300), index=True)
    address: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(2))


class ShipmentInput(Base):
    """The supply-chain tree flattened: one row per input at any tier."""

    __tablename__ = "shipment_inputs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shipment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("shipments.id", ondelete="CASCADE"), index=True
    )
    path: Mapped[str] = mapped_column(String(300))
    line_index: Mapped[int] = mapped_column(Integer)
    tier: Mapped[int] = mapped_column(Integer)
    material: Mapped[str | None] = mapped_column(String(200))
    hts_code: Mapped[str | None] = mapped_column(String(10))
    country_of_origin: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(200))


class Assessment(Base):
    """One assessment run. Never updated: a re-assessment adds a row."""

    __tablename__ = "assessments"
    # The unique (shipment_id, sequence) index also serves look-ups by shipment_id alone.
    __table_args__ = (UniqueConstraint("shipment_id", "sequence"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    shipment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("shipments.id"))
    sequence: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))
    recommendation: Mapped[str] = mapped_column(String(8))
    risk_score: Mapped[int] = mapped_column(Integer)
    risk_level: Mapped[str] = mapped_column(String(16))
    presumption_applies: Mapped[bool] = mapped_column(Boolean)
    sanctions_applies: Mapped[bool] = mapped_column(Boolean)
    grounds: Mapped[list[str]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    rules_version: Mapped[str] = mapped_column(String(80))
    lists_version: Mapped[dict[str, str]] = mapped_column(JSON)
    matcher_version: Mapped[str] = mapped_column(String(40))
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_key_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id"))


class RuleSetRecord(Base):
    """Every rule set the service has run with, so any decision can be replayed."""

    __tablename__ = "rule_sets"

    version: Mapped[str] = mapped_column(String(80), primary_key=True)
    documents: Mapped[dict[str, str]] = mapped_column(JSON)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ListVersion(Base):
    """One immutable import of an official list file. The newest per source is active."""

    __tablename__ = "list_versions"
    __table_args__ = (Index("ix_list_versions_source_imported", "source", "imported_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    source: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(80))
    file_sha256: Mapped[str] = mapped_column(String(64))
    entry_count: Mapped[int] = mapped_column(Integer)
    counts: Mapped[dict[str, int]] = mapped_column(JSON)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(80))


class ListEntryRecord(Base):
    __tablename__ = "list_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    list_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("list_versions.id"), index=True)
    list_id: Mapped[str] = mapped_column(String(40))
    entry_id: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class Decision(Base):
    """The decision log: append-only and hash-chained. Triggers refuse UPDATE and DELETE."""

    __tablename__ = "decisions"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    # Look-ups by shipment use ix_decisions_shipment_seq (shipment_id, seq), in audit.py.
    shipment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("shipments.id"))
    importer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("importers.id"), index=True)
    assessment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assessments.id"))
    kind: Mapped[str] = mapped_column(String(24))
    outcome: Mapped[str] = mapped_column(String(24))
    risk_score: Mapped[int | None] = mapped_column(Integer)
    grounds: Mapped[list[str]] = mapped_column(JSON)
    findings_sha256: Mapped[str] = mapped_column(String(64))
    rules_version: Mapped[str | None] = mapped_column(String(80))
    lists_version: Mapped[dict[str, str]] = mapped_column(JSON)
    matcher_version: Mapped[str | None] = mapped_column(String(40))
    country_of_origin: Mapped[str | None] = mapped_column(String(2))
    sectors: Mapped[list[str]] = mapped_column(JSON)
    declared_value: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    actor_key_id: Mapped[str | None] = mapped_column(String(40))
    actor_role: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
