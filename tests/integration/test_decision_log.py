"""The decision log is append-only in the database and its chain detects tampering."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Decision
from app.services.decision_log import verify_chain
from tests.factories import append_decisions


def test_chain_verifies_and_refuses_update_and_delete(sessions: sessionmaker[Session]) -> None:
    append_decisions(sessions, 5)
    with sessions() as session:
        assert verify_chain(session).intact
        for statement in ("UPDATE decisions SET outcome = 'detain'", "DELETE FROM decisions"):
            with pytest.raises(DBAPIError, match="append-only"):
                session.execute(text(statement))
            session.rollback()
        assert verify_chain(session).intact


def test_concurrent_writers_do_not_fork_the_chain(sessions: sessionmaker[Session]) -> None:
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(5):
                append_decisions(sessions, 2)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with sessions() as session:
        result = verify_chain(session)
        assert result.intact, result
        seqs = list(session.scalars(select(Decision.seq).order_by(Decision.seq)))
        assert seqs == list(range(1, len(seqs) + 1))


def test_verify_names_the_tampered_record(sessions: sessionmaker[Session], engine: Engine) -> None:
    append_decisions(sessions, 3)
    with sessions() as session:
        target = session.scalars(
            select(Decision.seq).order_by(Decision.seq.desc()).limit(1).offset(1)
        ).one()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE decisions DISABLE TRIGGER decisions_no_update"))
            conn.execute(
                text("UPDATE decisions SET outcome = 'detain' WHERE seq = :s"), {"s": target}
            )
            conn.execute(text("ALTER TABLE decisions ENABLE TRIGGER decisions_no_update"))
        else:
            conn.execute(text("DROP TRIGGER decisions_no_update"))
            conn.execute(
                text("UPDATE decisions SET outcome = 'detain' WHERE seq = :s"), {"s": target}
            )
            conn.execute(
                text(
                    "CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions "
                    "BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END"
                )
            )
    with sessions() as session:
        result = verify_chain(session)
    assert not result.intact
    assert result.first_broken_seq == target
