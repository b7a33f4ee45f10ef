"""The auditor's view of the decision log: filtered reads, streamed exports, statistics.

Everything here reads; nothing writes. Reads are portable SQL (SQLite and PostgreSQL), and
statistics are computed by GROUP BY in the database, never by loading the log into memory.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    TableValuedAlias,
    case,
    cast,
    exists,
    func,
    literal,
    select,
)
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Decision, Importer, Shipment
from app.errors import Unprocessable
from app.jsonutil import canonical_json
from app.services.decision_log import ChainChecker, ChainVerification

DECISIONS = Decision.__table__
IMPORTERS = Importer.__table__
SHIPMENTS = Shipment.__table__

# Outcomes that end a detention: a reviewer's determination. A decision of kind
# "determination" ends it whatever its outcome is called, so new outcomes need no change here.
FINAL_OUTCOMES = frozenset({"released", "excluded"})
DETERMINATION_KIND = "determination"
DETAIN_OUTCOME = "detain"

# Per-shipment status (see docs/audit.md): admitted | pending | released | excluded | <other
# determination outcome>; "detained" = every shipment ever detained = pending+released+excluded.
STATUS_ADMITTED = "admitted"
STATUS_PENDING = "pending"
STATUSES = ("admitted", "pending", "released", "excluded")
NONE_KEY = "(none)"
# Values are summed only in one currency: the decision log carries the shipment's declared
# total, and adding euros to dollars would make every value figure meaningless.
VALUE_CURRENCY = "USD"

EXPORT_PAGE_ROWS = 2000
EXPORT_FIELDS = (
    "seq",
    "recorded_at",
    "kind",
    "outcome",
    "risk_score",
    "grounds",
    "shipment_id",
    "shipment_reference",
    "importer_id",
    "importer_name",
    "assessment_id",
    "country_of_origin",
    "sectors",
    "declared_value",
    "currency",
    "findings_sha256",
    "rules_version",
    "lists_version",
    "matcher_version",
    "actor_key_id",
    "actor_role",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True)
class DecisionFilter:
    """Filters shared by the decision list, the export and (where they apply) the stats."""

    importer: str | None = None  # importer name or id
    kind: str | None = None
    outcome: str | None = None
    sector: str | None = None
    country: str | None = None
    shipment_id: uuid.UUID | None = None
    date_from: datetime | None = None  # inclusive, on recorded_at
    date_to: datetime | None = None  # exclusive

    def __post_init__(self) -> None:
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                object.__setattr__(self, name, value.replace(tzinfo=UTC))
        if self.date_from and self.date_to and self.date_from >= self.date_to:
            raise Unprocessable(
                "the date range is empty",
                errors=[{"field": "to", "reason": "must be after 'from'"}],
            )


def json_elements(column: ColumnElement[Any], dialect: str) -> TableValuedAlias:
    """The elements of a JSON array of strings as a table with one column, `value`."""
    if dialect == "postgresql":
        return func.json_array_elements_text(column).table_valued("value")
    return func.json_each(column).table_valued("value")


def _importer_clause(importer: str) -> ColumnElement[bool]:
    try:
        return DECISIONS.c.importer_id == uuid.UUID(importer)
    except ValueError:
        by_name = select(IMPORTERS.c.id).where(IMPORTERS.c.name == importer).scalar_subquery()
        return DECISIONS.c.importer_id == by_name


def where_clauses(flt: DecisionFilter, dialect: str) -> list[ColumnElement[bool]]:
    """WHERE terms over the decisions table for a filter."""
    clauses: list[ColumnElement[bool]] = []
    if flt.importer:
        clauses.append(_importer_clause(flt.importer))
    if flt.kind:
        clauses.append(DECISIONS.c.kind == flt.kind)
    if flt.outcome:
        clauses.append(DECISIONS.c.outcome == flt.outcome)
    if flt.country:
        clauses.append(DECISIONS.c.country_of_origin == flt.country.upper())
    if flt.shipment_id:
        clauses.append(DECISIONS.c.shipment_id == flt.shipment_id)
    if flt.date_from:
        clauses.append(DECISIONS.c.recorded_at >= flt.date_from)
    if flt.date_to:
        clauses.append(DECISIONS.c.recorded_at < flt.date_to)
    if flt.sector:
        element = json_elements(DECISIONS.c.sectors, dialect)
        clauses.append(
            exists(select(literal(1)).select_from(element).where(element.c.value == flt.sector))
        )
    return clauses


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _decision_select() -> Select[Any]:
    """Decisions with the shipment reference, currency and importer name joined in."""
    return (
        select(
            DECISIONS,
            SHIPMENTS.c.reference.label("shipment_reference"),
            SHIPMENTS.c.currency.label("currency"),
            IMPORTERS.c.name.label("importer_name"),
        )
        .join(SHIPMENTS, SHIPMENTS.c.id == DECISIONS.c.shipment_id)
        .join(IMPORTERS, IMPORTERS.c.id == DECISIONS.c.importer_id)
    )


def _timestamp(value: datetime) -> str:
    # The same form the record hash uses, so an export can be re-verified offline.
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _as_list(value: Any) -> list[str]:
    # JSON columns come back decoded on both databases; tolerate text just in case.
    if isinstance(value, str):
        value = json.loads(value)
    return [str(v) for v in (value or [])]


def _as_dict(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        value = json.loads(value)
    return {str(k): str(v) for k, v in sorted((value or {}).items())}


def decision_dict(row: Any) -> dict[str, Any]:
    """One decision as the API and the export show it (hash fields verbatim)."""
    m = row._mapping
    recorded = m["recorded_at"]
    if recorded.tzinfo is None:  # SQLite hands back naive UTC through Core selects
        recorded = recorded.replace(tzinfo=UTC)
    value = m["declared_value"]
    return {
        "seq": int(m["seq"]),
        "recorded_at": _timestamp(recorded),
        "kind": m["kind"],
        "outcome": m["outcome"],
        "risk_score": m["risk_score"],
        "grounds": _as_list(m["grounds"]),
        "shipment_id": str(m["shipment_id"]),
        "shipment_reference": m["shipment_reference"],
        "importer_id": str(m["importer_id"]),
        "importer_name": m["importer_name"],
        "assessment_id": None if m["assessment_id"] is None else str(m["assessment_id"]),
        "country_of_origin": m["country_of_origin"],
        "sectors": _as_list(m["sectors"]),
        "declared_value": None if value is None else f"{Decimal(value):.2f}",
        "currency": m["currency"],
        "findings_sha256": m["findings_sha256"],
        "rules_version": m["rules_version"],
        "lists_version": _as_dict(m["lists_version"]),
        "matcher_version": m["matcher_version"],
        "actor_key_id": m["actor_key_id"],
        "actor_role": m["actor_role"],
        "prev_hash": m["prev_hash"],
        "hash": m["hash"],
    }


# --- listing with keyset pagination -------------------------------------------------------


def encode_cursor(seq: int, descending: bool) -> str:
    raw = f"{'d' if descending else 'a'}:{seq}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, descending: bool) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        direction, seq = raw.split(":", 1)
        if direction != ("d" if descending else "a"):
            raise ValueError("cursor from the other sort order")
        return int(seq)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unprocessable(
            "cursor is not valid", errors=[{"field": "cursor", "reason": "malformed"}]
        ) from exc


def list_decisions(
    session: Session,
    flt: DecisionFilter,
    *,
    cursor: str | None = None,
    limit: int = 50,
    descending: bool = False,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of decisions in seq order; the cursor is the last seq seen (keyset)."""
    query = _decision_select().where(*where_clauses(flt, _dialect(session)))
    if cursor is not None:
        after = decode_cursor(cursor, descending)
        query = query.where(DECISIONS.c.seq < after if descending else DECISIONS.c.seq > after)
    order = DECISIONS.c.seq.desc() if descending else DECISIONS.c.seq.asc()
    rows = session.execute(query.order_by(order).limit(limit + 1)).all()
    items = [decision_dict(r) for r in rows[:limit]]
    next_cursor = encode_cursor(items[-1]["seq"], descending) if len(rows) > limit else None
    return items, next_cursor


def get_decision(session: Session, seq: int) -> dict[str, Any] | None:
    row = session.execute(_decision_select().where(DECISIONS.c.seq == seq)).first()
    return None if row is None else decision_dict(row)


# --- streamed export -----------------------------------------------------------------------


def iter_decisions(
    sessions: sessionmaker[Session], flt: DecisionFilter, page_rows: int = EXPORT_PAGE_ROWS
) -> Iterator[dict[str, Any]]:
    """Every matching decision in seq order, in memory bounded by one page.

    The log is append-only, so paging by seq up to the head seen at the start gives a
    consistent snapshot without one long transaction. Each page is read (with yield_per) in
    its own short transaction, which ends BEFORE its rows are handed on: the consumer is an
    HTTP client that may read slowly, and on SQLite every transaction holds the database
    write lock (BEGIN IMMEDIATE), so a slow download must never keep one open.
    """
    with sessions() as session:
        head = session.scalar(select(func.max(DECISIONS.c.seq)))
        dialect = _dialect(session)
    if head is None:
        return
    clauses = where_clauses(flt, dialect)
    after = 0
    while after < head:
        query = (
            _decision_select()
            .where(DECISIONS.c.seq > after, DECISIONS.c.seq <= head, *clauses)
            .order_by(DECISIONS.c.seq)
            .limit(page_rows)
            .execution_options(yield_per=1000)
        )
        with sessions() as session:
            page = [decision_dict(row) for row in session.execute(query)]
            session.rollback()  # end the read transaction (releases SQLite's lock)
        yield from page
        if len(page) < page_rows:
            return
        after = page[-1]["seq"]


def verify_log(
    sessions: sessionmaker[Session], page_rows: int = EXPORT_PAGE_ROWS
) -> ChainVerification:
    """decision_log.verify_chain, read in pages of short transactions.

    Same checks (sequence, prev_hash, own hash) and the same answer, but a verification of
    a large log never holds one transaction for its whole duration (on SQLite that would
    block every writer until it finished). Verifies up to the head seen at the start.
    """
    with sessions() as session:
        head = session.scalar(select(func.max(DECISIONS.c.seq)))
    checker = ChainChecker()
    while head is not None and checker.expected_seq <= head:
        # Hashing a page is quick CPU work, so it is done inside the page's transaction.
        with sessions() as session:
            page = session.scalars(
                select(Decision)
                .where(Decision.seq >= checker.expected_seq, Decision.seq <= head)
                .order_by(Decision.seq)
                .limit(page_rows)
                .execution_options(yield_per=1000)
            )
            seen = 0
            for row in page:
                seen += 1
                broken = checker.check(row)
                if broken is not None:
                    return broken
            session.rollback()
        if seen == 0:
            # Records up to head existed when we started, and none can be deleted.
            return ChainVerification(False, checker.count, checker.expected_seq, "record missing")
    return checker.intact()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(value)
    if isinstance(value, dict):
        return canonical_json(value)
    return str(value)


def export_csv(rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_FIELDS)
    for count, row in enumerate(rows, start=1):
        writer.writerow([_csv_cell(row[name]) for name in EXPORT_FIELDS])
        if count % 500 == 0:  # send in chunks: one write per row is slow, one per file is big
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def export_ndjson(rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    chunk: list[str] = []
    for row in rows:
        chunk.append(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
        if len(chunk) == 500:
            yield ("\n".join(chunk) + "\n").encode()
            chunk = []
    if chunk:
        yield ("\n".join(chunk) + "\n").encode()


# --- statistics ------------------------------------------------------------------------------


def month_of(column: ColumnElement[Any], dialect: str) -> ColumnElement[str]:
    """'YYYY-MM' of a UTC timestamp column."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    # SQLite stores UTC timestamps as ISO text, so the month is its first seven characters.
    return func.substr(func.cast(column, String), 1, 7)


@dataclass(frozen=True)
class StatsFilter:
    """Stats are per shipment: filters apply to the shipment's attributes (see docs/audit.md)."""

    importer: str | None = None
    country: str | None = None
    sector: str | None = None
    date_from: datetime | None = None  # on the shipment's first decision
    date_to: datetime | None = None

    def as_decision_filter(self) -> DecisionFilter:
        return DecisionFilter(
            importer=self.importer,
            country=self.country,
            sector=self.sector,
            date_from=self.date_from,
            date_to=self.date_to,
        )


def shipment_status_cte(session: Session, flt: StatsFilter) -> Any:
    """One row per shipment: month first assessed, status, value and the cut dimensions.

    first  = the shipment's first decision (its month is the shipment's month)
    latest = its latest decision (origin, sectors, importer, value as last recorded)
    detain = its latest decision with outcome detain (the grounds it was detained on)
    final  = its latest determination (kind determination, or outcome released/excluded)
    status = final's outcome if any; else pending if ever detained; else admitted.
    """
    dialect = _dialect(session)
    d = DECISIONS
    is_final = (d.c.kind == DETERMINATION_KIND) | d.c.outcome.in_(sorted(FINAL_OUTCOMES))
    per = (
        select(
            d.c.shipment_id,
            func.min(d.c.seq).label("first_seq"),
            func.max(d.c.seq).label("latest_seq"),
            func.max(case((d.c.outcome == DETAIN_OUTCOME, d.c.seq))).label("detain_seq"),
            func.max(case((is_final, d.c.seq))).label("final_seq"),
        )
        .group_by(d.c.shipment_id)
        .subquery("per_shipment")
    )
    first = d.alias("first_decision")
    latest = d.alias("latest_decision")
    detain = d.alias("detain_decision")
    final = d.alias("final_decision")
    status = case(
        (final.c.outcome.is_not(None), final.c.outcome),
        (per.c.detain_seq.is_not(None), literal(STATUS_PENDING)),
        else_=literal(STATUS_ADMITTED),
    )
    value = case((SHIPMENTS.c.currency == VALUE_CURRENCY, latest.c.declared_value))
    query = (
        select(
            per.c.shipment_id,
            month_of(first.c.recorded_at, dialect).label("month"),
            status.label("status"),
            value.label("value"),
            latest.c.country_of_origin.label("country"),
            latest.c.sectors.label("sectors"),
            detain.c.grounds.label("grounds"),
        )
        .select_from(per)
        .join(first, first.c.seq == per.c.first_seq)
        .join(latest, latest.c.seq == per.c.latest_seq)
        .join(SHIPMENTS, SHIPMENTS.c.id == per.c.shipment_id)
        .outerjoin(detain, detain.c.seq == per.c.detain_seq)
        .outerjoin(final, final.c.seq == per.c.final_seq)
    )
    if flt.importer:
        try:
            query = query.where(latest.c.importer_id == uuid.UUID(flt.importer))
        except ValueError:
            query = query.where(
                latest.c.importer_id
                == select(IMPORTERS.c.id).where(IMPORTERS.c.name == flt.importer).scalar_subquery()
            )
    if flt.country:
        query = query.where(latest.c.country_of_origin == flt.country.upper())
    if flt.date_from:
        query = query.where(first.c.recorded_at >= _aware(flt.date_from))
    if flt.date_to:
        query = query.where(first.c.recorded_at < _aware(flt.date_to))
    if flt.sector:
        element = json_elements(latest.c.sectors, dialect)
        query = query.where(
            exists(select(literal(1)).select_from(element).where(element.c.value == flt.sector))
        )
    return query.cte("shipment_status")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _money(value: Any) -> str:
    return f"{Decimal(value or 0):.2f}"


def _bucket() -> dict[str, Any]:
    return {
        "shipments": 0,
        "value": Decimal(0),
        "by_status": {s: 0 for s in STATUSES},
        "value_by_status": {s: Decimal(0) for s in STATUSES},
    }


def _finish(bucket: dict[str, Any]) -> dict[str, Any]:
    by_status: dict[str, int] = bucket["by_status"]
    detained = sum(n for s, n in by_status.items() if s != STATUS_ADMITTED)
    return {
        "shipments": bucket["shipments"],
        "value": _money(bucket["value"]),
        "detained": detained,
        **{s: n for s, n in by_status.items()},
        "value_by_status": {s: _money(v) for s, v in bucket["value_by_status"].items()},
    }


def _add(
    buckets: dict[str, dict[str, Any]], key: str, status: str, count: int, value: Decimal
) -> None:
    bucket = buckets.setdefault(key, _bucket())
    bucket["shipments"] += count
    bucket["value"] += value
    bucket["by_status"][status] = bucket["by_status"].get(status, 0) + count
    bucket["value_by_status"][status] = bucket["value_by_status"].get(status, Decimal(0)) + value


def _rows(buckets: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"key": key, **_finish(bucket)} for key, bucket in sorted(buckets.items())]


def compute_stats(session: Session, flt: StatsFilter) -> dict[str, Any]:
    """Counts and declared value by month, status, sector, origin and ground, plus totals.

    One GROUP BY over the per-shipment rows (month, status, origin, sector set, ground set)
    does the counting and summing in the database; the cuts are then sums over those few
    groups. (One query per cut would re-derive every shipment's status each time.)
    """
    dialect = _dialect(session)
    shipments = shipment_status_cte(session, flt)
    # JSON compared as its text: PostgreSQL has no equality on json, and both databases
    # store these lists in one canonical form (sorted sectors, grounds in engine order).
    sectors = cast(shipments.c.sectors, String)
    grounds = cast(shipments.c.grounds, String)
    groups = session.execute(
        select(
            shipments.c.month,
            shipments.c.status,
            shipments.c.country,
            sectors.label("sectors"),
            grounds.label("grounds"),
            func.count().label("n"),
            func.sum(shipments.c.value).label("value"),
        ).group_by(shipments.c.month, shipments.c.status, shipments.c.country, sectors, grounds)
    )
    totals: dict[str, dict[str, Any]] = {}
    by_month: dict[str, dict[str, Any]] = {}
    by_origin: dict[str, dict[str, Any]] = {}
    by_sector: dict[str, dict[str, Any]] = {}
    by_ground: dict[str, dict[str, Any]] = {}
    for group in groups:
        status, count, value = str(group.status), int(group.n), Decimal(group.value or 0)
        _add(totals, "all", status, count, value)
        _add(by_month, str(group.month), status, count, value)
        _add(by_origin, group.country or NONE_KEY, status, count, value)
        # A shipment with two sectors counts once under each, as on CBP's dashboard: sector
        # rows can add up to more than the total.
        for sector in dict.fromkeys(_as_list(group.sectors)) or [NONE_KEY]:
            _add(by_sector, sector, status, count, value)
        # Grounds are what a shipment was detained on, so admitted shipments are left out.
        if status != STATUS_ADMITTED:
            for ground in dict.fromkeys(_as_list(group.grounds)) or [NONE_KEY]:
                _add(by_ground, ground, status, count, value)
    decision_counts = session.execute(
        select(DECISIONS.c.kind, DECISIONS.c.outcome, func.count().label("n"))
        .where(*where_clauses(flt.as_decision_filter(), dialect))
        .group_by(DECISIONS.c.kind, DECISIONS.c.outcome)
        .order_by(DECISIONS.c.kind, DECISIONS.c.outcome)
    )
    total = _rows(totals)[0] if totals else {"key": "all", **_finish(_bucket())}
    return {
        "as_of": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "definitions": {
            "shipment": "one submitted shipment (one entry), however many lines",
            "status": "latest determination's outcome; else pending if ever detained; "
            "else admitted",
            "detained": "pending + released + excluded (every shipment ever detained)",
            "month": "UTC month of the shipment's first decision",
            "ground": "grounds of the shipment's latest detain decision; detained shipments "
            "only; '(none)' = detained on risk score alone",
            "value": f"declared value of {VALUE_CURRENCY} shipments (others count, value 0)",
            "decisions": "log records by kind and outcome; the filters apply to each record",
        },
        "currency": VALUE_CURRENCY,
        "totals": total,
        "by_month": _rows(by_month),
        "by_status": _by_status(total),
        "by_sector": _rows(by_sector),
        "by_origin": _rows(by_origin),
        "by_ground": _rows(by_ground),
        "decisions": [
            {"kind": r.kind, "outcome": r.outcome, "count": r.n} for r in decision_counts
        ],
    }


def _by_status(totals: dict[str, Any]) -> list[dict[str, Any]]:
    """The exam-result cut: shipments and value per status, with detained as their sum."""
    values: dict[str, str] = totals["value_by_status"]
    rows = [
        {"key": status, "shipments": totals.get(status, 0), "value": values.get(status, "0.00")}
        for status in [*STATUSES, *sorted(set(values) - set(STATUSES))]
    ]
    detained_value = sum(
        (Decimal(v) for s, v in values.items() if s != STATUS_ADMITTED), Decimal(0)
    )
    rows.append(
        {"key": "detained", "shipments": totals["detained"], "value": _money(detained_value)}
    )
    return rows


__all__ = [
    "EXPORT_FIELDS",
    "DecisionFilter",
    "StatsFilter",
    "compute_stats",
    "decision_dict",
    "export_csv",
    "export_ndjson",
    "get_decision",
    "iter_decisions",
    "list_decisions",
]
