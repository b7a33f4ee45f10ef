"""The streamed export holds no transaction while its consumer is slow."""

from __future__ import annotations

import threading

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from app.services import audit
from app.services.decision_log import verify_chain
from tests.factories import append_decisions


def test_a_paused_export_does_not_block_writers(sessions: sessionmaker[Session]) -> None:
    append_decisions(sessions, 120)
    rows = audit.iter_decisions(sessions, audit.DecisionFilter(), page_rows=50)
    first = next(rows)  # the download has started and its client is not reading
    assert first["seq"] == 1

    writer = threading.Thread(target=append_decisions, args=(sessions, 3))
    writer.start()
    writer.join(timeout=10)
    assert not writer.is_alive(), "a writer waited on the paused export"

    # The export is a snapshot up to the head it saw at the start: the 3 new records are
    # not in it, and nothing is repeated or skipped across pages.
    seqs = [first["seq"], *(row["seq"] for row in rows)]
    assert seqs == list(range(1, 121))
    with sessions() as session:
        assert verify_chain(session).records == 123


def test_paged_verification_agrees_with_verify_chain(
    sessions: sessionmaker[Session], engine: Engine
) -> None:
    append_decisions(sessions, 30)
    with sessions() as session:
        whole = verify_chain(session)
    assert whole.intact
    assert audit.verify_log(sessions, page_rows=7) == whole

    with sessions() as session:
        target = whole.records - 11
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE decisions DISABLE TRIGGER decisions_no_update"))
            conn.execute(text("UPDATE decisions SET risk_score = 99 WHERE seq = :s"), {"s": target})
            conn.execute(text("ALTER TABLE decisions ENABLE TRIGGER decisions_no_update"))
        else:
            conn.execute(text("DROP TRIGGER decisions_no_update"))
            conn.execute(text("UPDATE decisions SET risk_score = 99 WHERE seq = :s"), {"s": target})
            conn.execute(
                text(
                    "CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions "
                    "BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END"
                )
            )
    with sessions() as session:
        broken = verify_chain(session)
    assert broken.first_broken_seq == target
    assert audit.verify_log(sessions, page_rows=7) == broken
