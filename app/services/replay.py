"""Replay a recorded decision: re-run its assessment with the RECORDED rules and lists.

A decision is reproducible when the same manifest, assessed with the rule set and the list
versions named in the record, gives the same outcome, score, grounds and findings hash.
Building a list index costs seconds, so rebuilt screeners are cached per version set.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Assessment as AssessmentRow
from app.db.models import Decision, ListVersion, Shipment
from app.domain.assessment import Assessment
from app.domain.manifest_codec import manifest_from_dict
from app.domain.rules import RuleSet
from app.errors import NotFound
from app.screening.scorer import MATCHER_VERSION
from app.services import lists
from app.services.assessor import Assessor, PartyScreener
from app.services.bootstrap import make_screener
from app.services.decision_log import sha256_json
from app.services.rules import recorded_rules

# Kinds whose record is a run of the engine over a manifest. Other kinds (determination)
# record a person's decision, which has nothing to recompute.
NOT_REPLAYABLE_KINDS = frozenset({"determination"})

ScreenerKey = tuple[str, tuple[tuple[str, str], ...]]


class ScreenerCache:
    """A bounded LRU of screeners keyed by (rules version, list versions). Thread-safe."""

    def __init__(self, size: int) -> None:
        self._size = max(1, size)
        self._items: OrderedDict[ScreenerKey, PartyScreener | None] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[ScreenerKey, threading.Lock] = {}
        self.builds = 0  # how many screeners were built (for tests and metrics)

    def _cached(self, key: ScreenerKey) -> tuple[bool, PartyScreener | None]:
        with self._lock:
            if key not in self._items:
                return False, None
            self._items.move_to_end(key)
            return True, self._items[key]

    def get(
        self, key: ScreenerKey, build: Callable[[], PartyScreener | None]
    ) -> PartyScreener | None:
        found, screener = self._cached(key)
        if found:
            return screener
        with self._lock:
            key_lock = self._building.setdefault(key, threading.Lock())
        # One build per key at a time: a second request for the same versions waits for the
        # first rather than building (and holding) a second copy of the whole list set.
        # Other keys do not wait: the cache lock is not held while building.
        with key_lock:
            found, screener = self._cached(key)
            if found:
                return screener
            screener = build()
            with self._lock:
                self.builds += 1
                self._items[key] = screener
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
                self._building.pop(key, None)
        return screener


@dataclass(frozen=True)
class Difference:
    field: str
    recorded: Any
    replayed: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "recorded": self.recorded, "replayed": self.replayed}


@dataclass
class ReplayReport:
    seq: int
    kind: str
    replayable: bool
    reproduced: bool | None = None
    reason: str | None = None
    recorded: dict[str, Any] = field(default_factory=dict)
    replayed: dict[str, Any] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    findings_diff: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "replayable": self.replayable,
            "reproduced": self.reproduced,
            "reason": self.reason,
            "recorded": self.recorded,
            "replayed": self.replayed,
            "differences": [d.to_dict() for d in self.differences],
            "findings_diff": self.findings_diff,
            "notes": self.notes,
        }


def decision_grounds(result: Assessment) -> list[str]:
    """The grounds a decision records for an assessment (as store_assessment writes them)."""
    return [g.value for g in result.presumption.grounds] + [
        f"sanctions:{name}" for name in result.sanctions.lists
    ]


def findings_sha256(result: Assessment) -> str:
    return sha256_json([f.to_dict() for f in result.findings])


def _finding_key(finding: Mapping[str, Any]) -> tuple[str, str]:
    return str(finding.get("code")), str(finding.get("path"))


def findings_diff(
    recorded: list[Mapping[str, Any]], replayed: list[Mapping[str, Any]]
) -> dict[str, list[dict[str, Any]]]:
    """Findings only in one side (by code and path), and those whose content changed."""
    before = {_finding_key(f): f for f in recorded}
    after = {_finding_key(f): f for f in replayed}
    return {
        "only_recorded": [dict(before[k]) for k in sorted(before.keys() - after.keys())],
        "only_replayed": [dict(after[k]) for k in sorted(after.keys() - before.keys())],
        "changed": [
            {"recorded": dict(before[k]), "replayed": dict(after[k])}
            for k in sorted(before.keys() & after.keys())
            if sha256_json(before[k]) != sha256_json(after[k])
        ],
    }


class Replayer:
    """Rebuilds the assessor a decision was made with and re-runs the engine."""

    def __init__(self, cache: ScreenerCache, current: Callable[[], Assessor | None]) -> None:
        self._cache = cache
        self._current = current  # the live assessor: reused when the versions are the same

    def _screener(
        self, session: Session, rules: RuleSet, lists_version: Mapping[str, str]
    ) -> PartyScreener | None:
        live = self._current()
        if (
            live is not None
            and live.rules.version == rules.version
            and dict(live.lists_version) == dict(lists_version)
        ):
            return live.screener
        key: ScreenerKey = (rules.version, tuple(sorted(lists_version.items())))

        def build() -> PartyScreener | None:
            versions = [_list_version(session, s, v) for s, v in sorted(lists_version.items())]
            entries = lists.entries_of(session, versions)
            return make_screener(entries, rules) if entries else None

        return self._cache.get(key, build)

    def replay(self, session: Session, seq: int) -> ReplayReport:
        decision = session.get(Decision, seq)
        if decision is None:
            raise NotFound(f"no decision {seq}")
        report = ReplayReport(
            seq=seq,
            kind=decision.kind,
            replayable=False,
            recorded={
                "outcome": decision.outcome,
                "risk_score": decision.risk_score,
                "grounds": list(decision.grounds),
                "findings_sha256": decision.findings_sha256,
                "rules_version": decision.rules_version,
                "lists_version": dict(decision.lists_version),
                "matcher_version": decision.matcher_version,
            },
        )
        if decision.kind in NOT_REPLAYABLE_KINDS:
            report.reason = (
                f"a {decision.kind} records a person's decision, not an engine run; "
                "there is nothing to recompute"
            )
            return report
        if decision.assessment_id is None:
            report.reason = "the record links no assessment run, so there is nothing to re-run"
            return report
        assessment = session.get(AssessmentRow, decision.assessment_id)
        shipment = session.get(Shipment, decision.shipment_id)
        if assessment is None or shipment is None:
            report.reason = "the recorded assessment or shipment is missing"
            report.reproduced = False
            return report
        if decision.rules_version is None:
            report.reason = "the record names no rules version"
            return report
        rules = recorded_rules(session, decision.rules_version)
        if rules is None:
            report.reason = f"rules version {decision.rules_version} was never recorded"
            report.reproduced = False
            return report
        missing = [
            f"{s}={v}"
            for s, v in sorted(decision.lists_version.items())
            if _find_list_version(session, s, v) is None
        ]
        if missing:
            report.reason = f"list versions not in the database: {', '.join(missing)}"
            report.reproduced = False
            return report

        report.replayable = True
        if decision.matcher_version != MATCHER_VERSION:
            report.notes.append(
                f"recorded matcher {decision.matcher_version}, running {MATCHER_VERSION}: "
                "a matcher change can change list matches"
            )
        if sha256_json(shipment.manifest) != shipment.body_sha256:
            # Shipment rows are not append-only; the body hash taken at intake tells.
            report.notes.append(
                "the stored manifest does not match the body hash taken when it was submitted"
            )
        manifest_source = _manifest_for(shipment, assessment)
        if manifest_source is not shipment.manifest:
            report.notes.append("replayed on the revised manifest stored with the assessment")
        assessor = Assessor(
            rules=rules,
            screener=self._screener(session, rules, decision.lists_version),
            lists_version=dict(decision.lists_version),
            matcher_version=decision.matcher_version or MATCHER_VERSION,
        )
        result = assessor.assess(manifest_from_dict(manifest_source))
        report.replayed = {
            "outcome": result.recommendation.value,
            "risk_score": result.risk_score,
            "grounds": decision_grounds(result),
            "findings_sha256": findings_sha256(result),
            "rules_version": result.rules_version,
            "lists_version": dict(result.lists_version),
            "matcher_version": result.matcher_version,
        }
        for name in ("outcome", "risk_score", "grounds", "findings_sha256", "rules_version"):
            if report.recorded[name] != report.replayed[name]:
                report.differences.append(
                    Difference(name, report.recorded[name], report.replayed[name])
                )
        # The record keeps only a hash of the findings; the itemised findings recorded at the
        # time are on its assessment row, which must hash to the same value.
        recorded_findings = list(assessment.result.get("findings", []))
        if sha256_json(recorded_findings) != decision.findings_sha256:
            report.notes.append(
                "the record's findings hash does not match the findings stored on its "
                "assessment row"
            )
        if report.recorded["findings_sha256"] != report.replayed["findings_sha256"]:
            report.findings_diff = findings_diff(
                recorded_findings, [f.to_dict() for f in result.findings]
            )
        report.reproduced = not report.differences
        return report


def _manifest_for(shipment: Shipment, assessment: AssessmentRow) -> dict[str, Any]:
    """The manifest the assessment ran on: a revised one stored with it, else the shipment's."""
    revised = assessment.result.get("manifest") if isinstance(assessment.result, dict) else None
    return revised if isinstance(revised, dict) else shipment.manifest


def _find_list_version(session: Session, source: str, version: str) -> ListVersion | None:
    # The same file imported twice has the same version string; any of its rows will do.
    return session.scalar(
        select(ListVersion)
        .where(ListVersion.source == source, ListVersion.version == version)
        .order_by(ListVersion.imported_at)
        .limit(1)
    )


def _list_version(session: Session, source: str, version: str) -> ListVersion:
    found = _find_list_version(session, source, version)
    if found is None:  # checked by the caller before building
        raise NotFound(f"list version {source}={version} is not in the database")
    return found
