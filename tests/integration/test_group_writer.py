"""Group commit: many concurrent shipments in shared transactions, each still all-or-nothing."""

from __future__ import annotations

import asyncio
import threading
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.api.schemas.manifest import ManifestIn
from app.db.models import (
    Assessment,
    Decision,
    Importer,
    Shipment,
    ShipmentInput,
    ShipmentLine,
    ShipmentParty,
)
from app.domain.manifest_codec import manifest_from_dict
from app.errors import ServiceUnavailable
from app.jsonutil import dumps
from app.ruleset.loader import load_ruleset
from app.services.assessor import Assessor
from app.services.decision_log import verify_chain
from app.services.group_writer import GroupWriter
from app.services.principal import SYSTEM
from app.services.shipment_rows import NewShipment, new_shipment, write_new_shipments
from app.services.shipments import ShipmentView, body_sha256, latest_assessment, new_view
from tests.api.conftest import example_manifest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def assessor() -> Assessor:
    return Assessor(load_ruleset(ROOT / "rules"))


@pytest.fixture(scope="module")
def importer_id(sessions: sessionmaker[Session]) -> uuid.UUID:
    with sessions() as session:
        importer = Importer(name=f"Group Importer {uuid.uuid4().hex[:6]}")
        session.add(importer)
        session.commit()
        return importer.id


def build(assessor: Assessor, importer_id: uuid.UUID, reference: str) -> NewShipment:
    canonical = ManifestIn.model_validate(example_manifest(reference=reference)).canonical()
    manifest = manifest_from_dict(canonical)
    return new_shipment(
        importer_id, canonical, body_sha256(canonical), manifest, assessor.assess(manifest), SYSTEM
    )


def counts(session: Session, shipment_id: uuid.UUID) -> tuple[int, ...]:
    return tuple(
        session.scalar(select(func.count()).select_from(model).where(column == shipment_id)) or 0
        for model, column in (
            (Shipment, Shipment.id),
            (Assessment, Assessment.shipment_id),
            (Decision, Decision.shipment_id),
            (ShipmentLine, ShipmentLine.shipment_id),
            (ShipmentParty, ShipmentParty.shipment_id),
            (ShipmentInput, ShipmentInput.shipment_id),
        )
    )


def test_concurrent_writers_share_transactions_and_keep_one_chain(
    sessions: sessionmaker[Session], assessor: Assessor, importer_id: uuid.UUID
) -> None:
    writer = GroupWriter(sessions)
    writer.start()
    news = [build(assessor, importer_id, f"G-{uuid.uuid4().hex[:10]}") for _ in range(120)]
    results: dict[int, bool] = {}

    def submit(indices: range) -> None:
        for i in indices:
            results[i] = writer.write(news[i])

    threads = [threading.Thread(target=submit, args=(range(k, 120, 12),)) for k in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.stop()

    assert results == {i: True for i in range(120)}
    with sessions() as session:
        expected = counts(session, news[0].shipment.id)
        assert expected[:3] == (1, 1, 1) and min(expected[3:]) > 0
        for new in news:
            assert counts(session, new.shipment.id) == expected
        assert verify_chain(session).intact


def test_a_failing_shipment_does_not_sink_its_group(
    sessions: sessionmaker[Session], assessor: Assessor, importer_id: uuid.UUID
) -> None:
    good = [build(assessor, importer_id, f"OK-{uuid.uuid4().hex[:10]}") for _ in range(2)]
    bad = build(assessor, uuid.uuid4(), f"BAD-{uuid.uuid4().hex[:10]}")  # no such importer
    duplicate = build(assessor, importer_id, good[0].shipment.reference)
    writer = GroupWriter(sessions)
    # Queue everything before the thread starts, so the four form one group.
    outcomes: dict[str, Any] = {}

    def submit(name: str, new: NewShipment) -> None:
        try:
            outcomes[name] = writer.write(new)
        except IntegrityError as exc:
            outcomes[name] = exc

    threads = []
    for name, new in (("good0", good[0]), ("bad", bad), ("dup", duplicate), ("good1", good[1])):
        thread = threading.Thread(target=submit, args=(name, new))
        thread.start()
        threads.append(thread)
        while writer.queued < len(threads):  # queued in this order: good0 comes before dup
            threading.Event().wait(0.005)
    writer.start()
    for thread in threads:
        thread.join()
    writer.stop()

    assert outcomes["good0"] is True and outcomes["good1"] is True
    assert outcomes["dup"] is False  # the caller answers it as a resend
    assert isinstance(outcomes["bad"], IntegrityError)
    with sessions() as session:
        assert counts(session, bad.shipment.id) == (0, 0, 0, 0, 0, 0)
        assert counts(session, duplicate.shipment.id)[0] == 0
        for new in good:
            assert counts(session, new.shipment.id)[:3] == (1, 1, 1)
        assert verify_chain(session).intact


def test_the_awaitable_store_answers_as_write_does(
    sessions: sessionmaker[Session], assessor: Assessor, importer_id: uuid.UUID
) -> None:
    """`store` (the event loop's way in) stores, reports a resend, and passes errors on."""
    writer = GroupWriter(sessions)
    writer.start()
    try:
        new = build(assessor, importer_id, f"STORE-{uuid.uuid4().hex[:8]}")
        assert asyncio.run(writer.store(new)) is True
        again = build(assessor, importer_id, new.shipment.reference)
        assert asyncio.run(writer.store(again)) is False  # its reference is stored already
        with sessions() as session:
            assert counts(session, new.shipment.id) == (
                1, 1, 1, len(new.lines), len(new.parties), len(new.inputs)
            )  # fmt: skip
            assert counts(session, again.shipment.id)[0] == 0
        broken = build(assessor, importer_id, f"STORE-{uuid.uuid4().hex[:8]}")
        broken.assessment_values["shipment_id"] = None  # NOT NULL: this write must fail
        with pytest.raises(IntegrityError):
            asyncio.run(writer.store(broken))
    finally:
        writer.stop()


def test_write_and_store_give_up_with_503_when_no_group_commits_in_time(
    sessions: sessionmaker[Session], assessor: Assessor, importer_id: uuid.UUID
) -> None:
    writer = GroupWriter(sessions, wait_seconds=0.2)  # never started: nothing is written
    new = build(assessor, importer_id, f"SLOW-{uuid.uuid4().hex[:8]}")
    with pytest.raises(ServiceUnavailable):
        writer.write(new)
    with pytest.raises(ServiceUnavailable):
        asyncio.run(writer.store(new))
    with sessions() as session:
        assert counts(session, new.shipment.id) == (0, 0, 0, 0, 0, 0)


def test_a_new_shipments_answer_is_byte_for_byte_what_reading_it_back_answers(
    sessions: sessionmaker[Session], assessor: Assessor, importer_id: uuid.UUID
) -> None:
    """The 201 answer joins the already-encoded result to the assessment's own fields;
    it must say exactly what the stored rows say when read back."""
    new = build(assessor, importer_id, f"ANSWER-{uuid.uuid4().hex[:8]}")
    with sessions() as session:
        assert write_new_shipments(session, [new]) == [True]
    answered = dumps(new_view(new).to_dict())
    with sessions() as session:
        stored = session.get(Shipment, new.shipment.id)
        assert stored is not None
        read_back = dumps(ShipmentView(stored, latest_assessment(session, stored.id)).to_dict())
    assert answered == read_back
    assert orjson.loads(answered)["assessment"]["findings"]  # the result is really in it
