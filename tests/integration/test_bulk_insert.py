"""Bulk row inserts (app/db/bulk.py): rows read back exactly as an ORM insert stores them,
and a failing statement raises SQLAlchemy's error family with no row values in it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from app.db.base import table_of
from app.db.bulk import insert_new_rows, insert_rows, pipelined
from app.db.models import Importer, Shipment, ShipmentLine, ShipmentParty


def _shipment_row(
    importer_id: uuid.UUID, reference: str, created: datetime, manifest: Any = None
) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "importer_id": importer_id,
        "reference": reference,
        "body_sha256": "0" * 64,
        "manifest": {"reference": reference} if manifest is None else manifest,
        "status": "admitted",
        "created_at": created,
        "updated_at": created,
    }


def _importer(session: Session) -> uuid.UUID:
    importer = Importer(name=f"Bulk Importer {uuid.uuid4().hex[:8]}")
    session.add(importer)
    session.flush()
    return importer.id


def _shipment(session: Session) -> uuid.UUID:
    """A shipment stored through the ORM, for child rows to refer to."""
    row = _shipment_row(_importer(session), f"BULK-{uuid.uuid4().hex[:8]}", datetime.now(UTC))
    session.add(Shipment(**row))
    session.flush()
    shipment_id: uuid.UUID = row["id"]
    return shipment_id


def _line(shipment_id: uuid.UUID, index: int, **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "shipment_id": shipment_id,
        "line_index": index,
        "line_number": index + 1,
        "hts_code": "6109100012",
        "description": 'Cotton T-shirts «Ürümqi» 新疆 "quoted" \\ back\nslash',
        "quantity": 1200.5,
        "unit": "pcs",
        "value": Decimal("18000.10"),
        "currency": "USD",
        "country_of_origin": "VN",
    }
    row.update(overrides)
    return row


def test_rows_read_back_as_written(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        shipment_id = _shipment(session)
        connection = session.connection()
        with pipelined(connection):
            insert_rows(
                connection,
                table_of(ShipmentLine),
                [_line(shipment_id, 0), _line(shipment_id, 1, value=None, quantity=None)],
            )
            insert_rows(
                connection,
                table_of(ShipmentParty),
                [
                    {
                        "shipment_id": shipment_id,
                        "path": "parties[0]",
                        "role": "seller",
                        "name": "Hotan Trading 和田",
                        "address": None,
                        "country": "CN",
                    }
                ],
            )
        session.commit()
    with sessions() as session:
        lines = session.scalars(
            select(ShipmentLine)
            .where(ShipmentLine.shipment_id == shipment_id)
            .order_by(ShipmentLine.line_index)
        ).all()
        assert [line.line_number for line in lines] == [1, 2]
        assert lines[0].description == _line(shipment_id, 0)["description"]
        assert lines[0].quantity == 1200.5
        assert lines[0].value == Decimal("18000.10")
        assert lines[1].value is None and lines[1].quantity is None
        party = session.scalars(
            select(ShipmentParty).where(ShipmentParty.shipment_id == shipment_id)
        ).one()
        assert (party.name, party.address, party.country) == ("Hotan Trading 和田", None, "CN")


def test_json_columns_and_datetimes_read_back(sessions: sessionmaker[Session]) -> None:
    """A JSON column keeps its document; an aware date-time in any zone comes back as the
    same instant in UTC."""
    with sessions() as session:
        created = datetime(2026, 11, 22, 18, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8)))
        document = {"z": 1, "a": [1, 2.5, None, True], "nested": {"ü": "新疆"}}
        row = _shipment_row(_importer(session), "BULK-JSON", created, document)
        shipment_id = row["id"]
        insert_rows(session.connection(), table_of(Shipment), [row])
        session.commit()
    with sessions() as session:
        row = session.get(Shipment, shipment_id)
        assert row is not None
        assert row.manifest == document
        assert row.created_at == created
        assert row.created_at.utcoffset() == timedelta(0)


def test_a_failing_insert_raises_sqlalchemy_errors_without_values(
    sessions: sessionmaker[Session],
) -> None:
    secret = "Secret Supplier Name 12345"
    missing = uuid.uuid4()  # no such shipment: the foreign key refuses the row
    with sessions() as session, pytest.raises(IntegrityError) as raised:
        connection = session.connection()
        with pipelined(connection):
            insert_rows(connection, table_of(ShipmentLine), [_line(missing, 0, description=secret)])
    assert isinstance(raised.value, DBAPIError)
    assert secret not in str(raised.value)


def test_nothing_of_a_failed_pipeline_is_kept(sessions: sessionmaker[Session]) -> None:
    """The first table's rows went in before the second failed; rollback keeps neither."""
    with sessions() as session:
        shipment_id = _shipment(session)
        session.commit()
    with sessions() as session, pytest.raises(DBAPIError):
        connection = session.connection()
        with pipelined(connection):
            insert_rows(connection, table_of(ShipmentLine), [_line(shipment_id, 0)])
            insert_rows(connection, table_of(ShipmentLine), [_line(uuid.uuid4(), 0)])
    with sessions() as session:
        count = session.execute(
            text("SELECT count(*) FROM shipment_lines WHERE shipment_id = :s"),
            {"s": shipment_id if session.bind.dialect.name == "postgresql" else shipment_id.hex},
        ).scalar()
        assert count == 0


def test_naive_datetimes_are_refused(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, pytest.raises((ValueError, StatementError)):
        naive = datetime(2026, 11, 22, 18, 30)
        row = _shipment_row(_importer(session), "BULK-NAIVE", naive)
        insert_rows(session.connection(), table_of(Shipment), [row])


def test_no_rows_inserts_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        before = session.execute(text("SELECT count(*) FROM shipment_lines")).scalar()
        insert_rows(session.connection(), table_of(ShipmentLine), [])
        session.commit()
        assert session.execute(text("SELECT count(*) FROM shipment_lines")).scalar() == before


def test_insert_new_rows_skips_taken_keys_and_returns_the_new(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as session:
        importer_id = _importer(session)
        session.commit()
    now = datetime.now(UTC)

    def insert_new(rows: list[dict[str, Any]]) -> list[Any]:
        with sessions() as session:
            inserted = insert_new_rows(
                session.connection(),
                table_of(Shipment),
                rows,
                unique=("importer_id", "reference"),
                returning="id",
            )
            session.commit()
            return inserted

    first = [_shipment_row(importer_id, ref, now) for ref in ("NEW-1", "NEW-2")]
    assert set(insert_new(first)) == {first[0]["id"], first[1]["id"]}
    second = [_shipment_row(importer_id, ref, now) for ref in ("NEW-2", "NEW-3")]  # NEW-2 taken
    assert insert_new(second) == [second[1]["id"]]
    with sessions() as session:
        stored = session.scalars(
            select(Shipment.reference).where(Shipment.importer_id == importer_id)
        ).all()
        assert sorted(stored) == ["NEW-1", "NEW-2", "NEW-3"]
        kept = session.scalars(
            select(Shipment.id).where(
                Shipment.importer_id == importer_id, Shipment.reference == "NEW-2"
            )
        ).one()
        assert kept == first[1]["id"]  # the first writer's row stays


def test_a_lost_connection_is_reported_invalidated(sessions: sessionmaker[Session]) -> None:
    """As `Connection.execute` would: the pool drops the connection and the error says so,
    which is what the group writer's one retry looks for."""
    with sessions() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("a server to lose the connection to")
        shipment_id = _shipment(session)
        session.commit()
        backend = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with sessions() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        with pytest.raises(DBAPIError) as raised:
            insert_rows(session.connection(), table_of(ShipmentLine), [_line(shipment_id, 0)])
        assert raised.value.connection_invalidated
        assert session.connection().invalidated
