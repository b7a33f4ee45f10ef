"""Re-screening past shipments when a list changes (or, in full, when the rules change).

A list import is compared with the previous version of the same source (entries keyed by
list id and entry id, compared by a hash of their payload). Only the delta matters:

* added or changed entries: a Screener is built over just those entries and every
  *distinct* stored party name is screened against it — the reverse of normal screening,
  so the cost grows with the number of distinct names, not shipments, and a one-entry
  update needs one cheap index lookup per name. The delta screener uses the full index's
  token rarity (so scores equal what the full screener computes) and a possible threshold
  lowered by the largest bonus country and address agreement can add, so it is a superset
  filter: it may flag a name the full assessment then clears, never the reverse.
* removed or changed entries: the shipments whose assessments cite them
  (assessment_citations) are candidates too.

Each candidate shipment is re-assessed with the full current assessor; only when the
outcome changes (recommendation, score, grounds, sanctions or the cited list entries) is a
new assessment stored (kind `rescreen`) with its decision record and a
`shipment.rescreened` webhook event, one shipment per transaction. Shipments whose outcome
is unchanged are not touched, which also makes a re-run after an interruption idempotent.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.models import AssessmentCitation, ListEntryRecord, Shipment, ShipmentParty
from app.domain.assessment import Recommendation
from app.domain.manifest_codec import manifest_from_dict
from app.jsonutil import canonical_json
from app.screening.entry import ListEntry
from app.screening.index import NameIndex
from app.screening.scorer import Rarity, uniform_rarity
from app.screening.screener import ADDRESS_AGREE_STRONG, COUNTRY_AGREE, Screener
from app.services.assessor import Assessor
from app.services.principal import SYSTEM
from app.services.shipment_rows import ShipmentStatus
from app.services.shipments import latest_assessment, store_assessment

Progress = Callable[[int, int | None], None]
IN_CHUNK = 500
# The most a country and an address agreement can add to a name score (see screener.py).
MAX_QUALIFIER_BONUS = COUNTRY_AGREE + ADDRESS_AGREE_STRONG
# A re-screen moves only shipments still awaiting or past an automatic recommendation;
# a case a person is working on (rebuttal, determination) keeps its status.
AUTOMATIC_STATUSES = frozenset({ShipmentStatus.ADMITTED, ShipmentStatus.DETAINED})


def _no_progress(_done: int, _total: int | None) -> None:
    return None


# --- what changed ------------------------------------------------------------------------


@dataclass
class ListDelta:
    added: list[ListEntry] = field(default_factory=list)
    changed: list[ListEntry] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)  # (list_id, entry_id)

    @property
    def to_screen(self) -> list[ListEntry]:
        return self.added + self.changed

    @property
    def no_longer_as_cited(self) -> list[tuple[str, str]]:
        return self.removed + [(e.list_id, e.entry_id) for e in self.changed]

    def summary(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "changed": len(self.changed),
            "removed": len(self.removed),
        }


def _entries(session: Session, version_id: uuid.UUID | None) -> dict[tuple[str, str], Any]:
    if version_id is None:
        return {}
    rows = session.execute(
        select(ListEntryRecord.list_id, ListEntryRecord.entry_id, ListEntryRecord.payload)
        .where(ListEntryRecord.list_version_id == version_id)
        .execution_options(yield_per=5000)
    )
    return {(list_id, entry_id): payload for list_id, entry_id, payload in rows}


def payload_digest(payload: Any) -> str:
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def list_delta(
    session: Session, version_id: uuid.UUID, previous_version_id: uuid.UUID | None
) -> ListDelta:
    new = _entries(session, version_id)
    old = _entries(session, previous_version_id)
    delta = ListDelta()
    for key, payload in new.items():
        before = old.get(key)
        if before is None:
            delta.added.append(ListEntry.from_dict(payload))
        elif payload_digest(before) != payload_digest(payload):
            delta.changed.append(ListEntry.from_dict(payload))
    delta.removed = sorted(key for key in old if key not in new)
    return delta


# --- who might be affected ----------------------------------------------------------------


class _DeltaIndex(NameIndex):
    """A NameIndex over a few entries that weighs tokens by the full index's rarity."""

    def __init__(self, entries: Sequence[ListEntry], rarity: Rarity) -> None:
        self._full_rarity = rarity
        super().__init__(entries)

    def rarity(self, text: str) -> float:
        return self._full_rarity(text)


class DeltaScreener(Screener):
    def __init__(self, entries: Sequence[ListEntry], rarity: Rarity, possible: float) -> None:
        threshold = max(0.01, possible - MAX_QUALIFIER_BONUS)
        super().__init__([], strong=threshold, possible=threshold)
        self.index = _DeltaIndex(list(entries), rarity)


def delta_screener(entries: Sequence[ListEntry], assessor: Assessor) -> DeltaScreener:
    full = assessor.screener
    rarity = full.index.rarity if isinstance(full, Screener) else uniform_rarity
    return DeltaScreener(entries, rarity, assessor.rules.scoring.match_possible)


def distinct_party_names(session: Session) -> Iterator[str]:
    yield from session.scalars(
        select(ShipmentParty.name).distinct().execution_options(yield_per=10_000)
    )


def matching_names(
    session: Session, screener: Screener, progress: Progress = _no_progress
) -> tuple[set[str], int]:
    """Distinct stored party names the delta screener flags, and how many were screened."""
    flagged: set[str] = set()
    screened = 0
    for name in distinct_party_names(session):
        screened += 1
        if screener.screen(name):
            flagged.add(name)
        if screened % 5000 == 0:
            progress(screened, None)
    return flagged, screened


def _chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def shipments_with_names(session: Session, names: Iterable[str]) -> set[uuid.UUID]:
    found: set[uuid.UUID] = set()
    for chunk in _chunks(sorted(names)):
        found.update(
            session.scalars(
                select(ShipmentParty.shipment_id).where(ShipmentParty.name.in_(chunk)).distinct()
            )
        )
    return found


def shipments_citing(session: Session, keys: Iterable[tuple[str, str]]) -> set[uuid.UUID]:
    by_list: dict[str, list[str]] = {}
    for list_id, entry_id in keys:
        by_list.setdefault(list_id, []).append(entry_id)
    found: set[uuid.UUID] = set()
    for list_id, entry_ids in by_list.items():
        for chunk in _chunks(sorted(entry_ids)):
            found.update(
                session.scalars(
                    select(AssessmentCitation.shipment_id)
                    .where(
                        AssessmentCitation.list_id == list_id,
                        AssessmentCitation.entry_id.in_(chunk),
                    )
                    .distinct()
                )
            )
    return found


# --- re-assessing -------------------------------------------------------------------------


def outcome_fingerprint(result: dict[str, Any]) -> str:
    """What a re-screen compares: the decision and the list entries it rests on, not
    versions or timestamps (those change on every run)."""
    findings = sorted(
        (
            f.get("code"),
            f.get("path"),
            f.get("severity"),
            (f.get("evidence") or {}).get("list"),
            (f.get("evidence") or {}).get("entry_id"),
            (f.get("evidence") or {}).get("band"),
        )
        for f in result.get("findings", [])
    )
    return canonical_json(
        {
            "recommendation": result.get("recommendation"),
            "risk_score": result.get("risk_score"),
            "risk_level": result.get("risk_level"),
            "presumption": result.get("presumption"),
            "sanctions": result.get("sanctions"),
            "findings": findings,
        }
    )


def rescreen_shipment(session: Session, assessor: Assessor, shipment_id: uuid.UUID) -> bool:
    """Re-assess one shipment; store a `rescreen` assessment only if the outcome changed.
    Commits its own transaction. Returns whether anything was stored."""
    for attempt in (1, 2):
        shipment = session.get(Shipment, shipment_id)
        if shipment is None:
            return False
        latest = latest_assessment(session, shipment.id)
        result = assessor.assess(manifest_from_dict(shipment.manifest))
        if latest is not None and outcome_fingerprint(latest.result) == outcome_fingerprint(
            result.to_dict()
        ):
            session.rollback()
            return False
        if shipment.status in AUTOMATIC_STATUSES:
            shipment.status = (
                ShipmentStatus.DETAINED
                if result.recommendation is Recommendation.DETAIN
                else ShipmentStatus.ADMITTED
            )
        shipment.updated_at = utcnow()
        try:
            store_assessment(
                session, shipment, result, kind="rescreen", actor=SYSTEM, decision_kind="rescreen"
            )
            session.commit()
            return True
        except IntegrityError:
            # Another writer added an assessment to this shipment at the same moment
            # (sequence taken): start again from its result.
            session.rollback()
            if attempt == 2:
                raise
    return False


@dataclass
class RescreenReport:
    candidates: int = 0
    changed: int = 0
    unchanged: int = 0
    names_screened: int = 0
    names_flagged: int = 0
    delta: dict[str, int] = field(default_factory=dict)
    changed_shipments: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "delta": self.delta,
            "names_screened": self.names_screened,
            "names_flagged": self.names_flagged,
            "candidates": self.candidates,
            "changed": self.changed,
            "unchanged": self.unchanged,
            # the first ones, for a quick look; the decision log has them all
            "changed_shipments": self.changed_shipments[:100],
        }


def _reassess(
    session: Session,
    assessor: Assessor,
    shipment_ids: Sequence[uuid.UUID],
    report: RescreenReport,
    progress: Progress,
) -> None:
    report.candidates = len(shipment_ids)
    for done, shipment_id in enumerate(shipment_ids, start=1):
        if rescreen_shipment(session, assessor, shipment_id):
            report.changed += 1
            report.changed_shipments.append(str(shipment_id))
        else:
            report.unchanged += 1
        progress(done, len(shipment_ids))


def rescreen_list_update(
    session: Session,
    assessor: Assessor,
    version_id: uuid.UUID,
    previous_version_id: uuid.UUID | None,
    progress: Progress = _no_progress,
) -> RescreenReport:
    """Re-screen what one list import changed. `assessor` must already include it."""
    delta = list_delta(session, version_id, previous_version_id)
    report = RescreenReport(delta=delta.summary())
    candidates: set[uuid.UUID] = set()
    if delta.to_screen:
        screener = delta_screener(delta.to_screen, assessor)
        flagged, report.names_screened = matching_names(session, screener, progress)
        report.names_flagged = len(flagged)
        candidates |= shipments_with_names(session, flagged)
    if delta.no_longer_as_cited:
        candidates |= shipments_citing(session, delta.no_longer_as_cited)
    session.rollback()  # end the read transaction before the per-shipment writes
    _reassess(session, assessor, sorted(candidates), report, progress)
    return report


def rescreen_all(
    session: Session, assessor: Assessor, progress: Progress = _no_progress
) -> RescreenReport:
    """Re-assess every shipment (after a rule change): keyset pages, one commit each."""
    report = RescreenReport()
    ids = list(session.scalars(select(Shipment.id).order_by(Shipment.id)))
    session.rollback()
    _reassess(session, assessor, ids, report, progress)
    return report
