"""The decision log: append-only, hash-chained, written in the caller's transaction.

Each record's hash is SHA-256 over the canonical JSON of its fields plus the previous
record's hash, so changing or removing any record breaks every hash after it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from app.db.base import table_of, utcnow
from app.db.bulk import DeferredRows, deferred_query, insert_rows, insert_rows_and_commit
from app.db.models import Decision, Shipment
from app.jsonutil import canonical_json
from app.services.principal import Principal
from app.services.webhooks import decision_subscribers, enqueue_for_decision

GENESIS_HASH = "0" * 64
NOT_RECORDED = datetime(1970, 1, 1, tzinfo=UTC)  # a draft's recorded_at, until appended
# Any constant works: it names the one advisory lock that serialises chain appends on PostgreSQL.
CHAIN_LOCK_KEY = 0x55464C5041  # "UFLPA"


def sha256_json(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


@dataclass(slots=True)
class DecisionRecord:
    """A decision record as plain values. Built as a draft, without seq, prev_hash, hash
    and recorded_at, which `append_decisions` fills in under the chain lock; then read
    (answers, webhook events), never saved through the ORM. An ORM `Decision` cost about
    ten times as much to build and fill, on every submission."""

    shipment_id: uuid.UUID
    importer_id: uuid.UUID
    assessment_id: uuid.UUID | None
    kind: str
    outcome: str
    risk_score: int | None
    grounds: list[str]
    findings_sha256: str
    rules_version: str | None
    lists_version: dict[str, str]
    matcher_version: str | None
    country_of_origin: str | None
    sectors: list[str]
    declared_value: Decimal | None
    actor_key_id: str | None
    actor_role: str
    seq: int = 0
    recorded_at: datetime = NOT_RECORDED
    prev_hash: str = ""
    hash: str = ""


def decision_payload(row: Decision | DecisionRecord) -> dict[str, Any]:
    """Every field of a record except its own hash, in a stable form."""
    return {
        "seq": row.seq,
        "shipment_id": str(row.shipment_id),
        "importer_id": str(row.importer_id),
        "assessment_id": None if row.assessment_id is None else str(row.assessment_id),
        "kind": row.kind,
        "outcome": row.outcome,
        "risk_score": row.risk_score,
        "grounds": list(row.grounds),
        "findings_sha256": row.findings_sha256,
        "rules_version": row.rules_version,
        "lists_version": dict(sorted(row.lists_version.items())),
        "matcher_version": row.matcher_version,
        "country_of_origin": row.country_of_origin,
        "sectors": list(row.sectors),
        "declared_value": None
        if row.declared_value is None
        else f"{Decimal(row.declared_value):.2f}",
        "actor_key_id": row.actor_key_id,
        "actor_role": row.actor_role,
        "recorded_at": row.recorded_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "prev_hash": row.prev_hash,
    }


def decision_hash(row: Decision | DecisionRecord) -> str:
    return sha256_json(decision_payload(row))


def decision_draft(
    shipment: Shipment,
    *,
    kind: str,
    outcome: str,
    actor: Principal,
    risk_score: int | None = None,
    grounds: Sequence[str] = (),
    findings: Iterable[Mapping[str, Any]] = (),
    rules_version: str | None = None,
    lists_version: Mapping[str, str] | None = None,
    matcher_version: str | None = None,
    sectors: Sequence[str] = (),
    assessment_id: uuid.UUID | None = None,
) -> DecisionRecord:
    """A record not yet in the chain: every field but seq, prev_hash, hash and recorded_at,
    which `append_decisions` sets under the chain lock."""
    return DecisionRecord(
        shipment_id=shipment.id,
        importer_id=shipment.importer_id,
        assessment_id=assessment_id,
        kind=kind,
        outcome=outcome,
        risk_score=risk_score,
        grounds=list(grounds),
        findings_sha256=sha256_json(list(findings)),
        rules_version=rules_version,
        lists_version=dict(lists_version or {}),
        matcher_version=matcher_version,
        country_of_origin=shipment.country_of_origin,
        sectors=sorted(set(sectors)),
        declared_value=shipment.declared_value,
        actor_key_id=actor.key_prefix,
        actor_role=actor.role.value,
    )


_DECISIONS = table_of(Decision)
_DECISION_COLUMNS = tuple(column.key for column in _DECISIONS.columns)
_CHAIN_HEAD = select(_DECISIONS.c.seq, _DECISIONS.c.hash).order_by(_DECISIONS.c.seq.desc()).limit(1)


@dataclass(frozen=True)
class ChainHead:
    seq: int
    hash: str


def chain_head_of(rows: Sequence[tuple[Any, ...]]) -> ChainHead:
    return ChainHead(0, GENESIS_HASH) if not rows else ChainHead(rows[0][0], rows[0][1])


def locked_head_query(connection: Connection) -> DeferredRows:
    """Take the chain lock and read the head (PostgreSQL), as a query that can share a
    pipeline's round trip; read its rows with `chain_head_of`. The lock is held until the
    transaction ends."""
    # One statement for both (migration 0006 explains why a function): the lock is held
    # until commit, so every round trip inside it counts.
    return deferred_query(
        connection, "SELECT seq, hash FROM uflpa_chain_head(%(k)s)", {"k": CHAIN_LOCK_KEY}
    )


def append_decisions(
    session: Session,
    drafts: Sequence[DecisionRecord],
    *,
    commit: bool = False,
    head: ChainHead | None = None,
) -> None:
    """Link drafts onto the chain head, in order, and insert them in one statement.

    The caller's other rows must already be flushed (foreign keys), and the caller commits:
    the chain lock is held from here to that commit, so nothing else belongs in between.
    With `commit`, the records are the transaction's last write and the COMMIT travels with
    them (one round trip less under the lock); the caller's commit then sends nothing.
    `head` is given when the caller has already locked the chain and read its head in
    this transaction (`locked_head_query`, sent with its other statements).
    The drafts stay out of the session; they come back filled in, to be read, not saved.
    """
    if not drafts:
        return
    connection = session.connection()
    if head is None:
        if connection.dialect.name == "postgresql":
            head = chain_head_of(locked_head_query(connection).rows())
        else:  # SQLite: the transaction already holds the database's write lock
            head = chain_head_of([tuple(row) for row in connection.execute(_CHAIN_HEAD)])
    seq, prev_hash = head.seq, head.hash
    recorded_at = utcnow()  # stamped under the lock, so time order and chain order agree
    for draft in drafts:
        seq += 1
        draft.seq, draft.prev_hash, draft.recorded_at = seq, prev_hash, recorded_at
        draft.hash = prev_hash = decision_hash(draft)
    rows = [{name: getattr(draft, name) for name in _DECISION_COLUMNS} for draft in drafts]
    if commit:
        insert_rows_and_commit(connection, _DECISIONS, rows)
    else:
        insert_rows(connection, _DECISIONS, rows)


def record_decision(session: Session, *, shipment: Shipment, **fields: Any) -> DecisionRecord:
    """Append one record (fields as for `decision_draft`) and its webhook event, in the
    caller's transaction (the caller commits).

    Appends are serialised (the chain has one head), so everything that does not need
    the head happens first: the findings hash, the webhook subscribers, and flushing the
    caller's pending rows. Only reading the head, inserting the record and its outbox
    event, and the caller's commit remain inside the lock.
    """
    return record_draft(session, shipment, decision_draft(shipment, **fields))


def record_draft(session: Session, shipment: Shipment, row: DecisionRecord) -> DecisionRecord:
    """`record_decision` for a draft built by the caller."""
    targets = decision_subscribers(session, shipment, row.kind)
    if targets and not shipment.manifest.get("importer"):
        shipment.importer  # noqa: B018  (load it now: the event payload names the importer)
    session.flush()  # the caller's rows, outside the serialised part
    append_decisions(session, [row])
    enqueue_for_decision(session, shipment, row, targets)
    return row


@dataclass(frozen=True)
class ChainVerification:
    intact: bool
    records: int
    first_broken_seq: int | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "records": self.records,
            "first_broken_seq": self.first_broken_seq,
            "reason": self.reason,
        }


class ChainChecker:
    """Checks records one at a time, in sequence order; the first misfit ends the check.
    Shared by every verifier (one session, or paged short transactions)."""

    def __init__(self) -> None:
        self.expected_prev = GENESIS_HASH
        self.expected_seq = 1
        self.count = 0

    def check(self, row: Decision) -> ChainVerification | None:
        """None if the record fits the chain so far, else the verdict naming it."""
        self.count += 1
        if row.seq != self.expected_seq:
            return ChainVerification(
                False, self.count, row.seq, f"sequence gap: expected {self.expected_seq}"
            )
        if row.prev_hash != self.expected_prev:
            return ChainVerification(
                False, self.count, row.seq, "prev_hash does not match the previous record"
            )
        if decision_hash(row) != row.hash:
            return ChainVerification(
                False, self.count, row.seq, "record content does not match its hash"
            )
        self.expected_prev = row.hash
        self.expected_seq += 1
        return None

    def intact(self) -> ChainVerification:
        return ChainVerification(True, self.count)


def verify_chain(session: Session) -> ChainVerification:
    """Recompute every hash in order; name the first record that does not fit."""
    checker = ChainChecker()
    for row in session.scalars(
        select(Decision).order_by(Decision.seq).execution_options(yield_per=1000)
    ):
        broken = checker.check(row)
        if broken is not None:
            return broken
    return checker.intact()
