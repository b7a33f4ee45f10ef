"""The checks a CBP reviewer makes on a rebuttal package, run before it is sent.

Pure: a function of the manifest, the latest assessment, the rebuttal's per-finding status
and the exhibits. Each check lists the problems it found with the manifest path or exhibit
they concern, so the importer can fix them; the package prints the same results.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.domain.manifest import Manifest, iter_parties
from app.reports.chain import (
    ENTRY,
    NodeKind,
    SupplyNode,
    coverage,
    node_of,
    supply_nodes,
)
from app.reports.model import ExhibitFacts, RebuttalFacts, ShipmentReport

# Statuses under which a finding counts as "listed as open" or as needing no answer.
OPEN_STATUSES = frozenset({"open", "needs_reviewer"})
CONTEXT_STATUS = "context"

# G-06 transaction records and G-07 production records, with the sector checklist items that
# are the same kind of record for one step (domain reference §2.2-2.3): a reviewer accepts a
# cotton spinner's laydown records (CT-04) as its production record.
TRANSACTION_RECORD_TYPES = frozenset({"G-06", "CT-07", "CT-08", "TM-05", "PS-07", "SF-03"})
PRODUCTION_RECORD_TYPES = frozenset(
    {
        "G-07",
        "CT-02", "CT-04", "CT-05", "CT-06",
        "TM-03", "TM-04",
        "PS-02", "PS-03", "PS-04", "PS-05", "PS-06",
        "AL-02", "AL-03", "AL-04",
        "PV-02",
    }
)  # fmt: skip

# "Exhibit 3", "Exhibits 3 and 4", "Ex. 12" in the narrative.
_EXHIBIT_CITATION = re.compile(r"\bex(?:hibits?|s?\.)\s*((?:\d+(?:\s*(?:,|and|&|-)\s*)?)+)", re.I)


@dataclass(frozen=True, slots=True)
class Problem:
    subject: str  # a manifest path, "Exhibit 3", or a finding "CODE at path"
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"subject": self.subject, "message": self.message}


@dataclass(frozen=True, slots=True)
class CheckResult:
    id: str
    title: str
    problems: tuple[Problem, ...]
    notes: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "passed": self.passed,
            "problems": [p.to_dict() for p in self.problems],
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class ReviewerChecks:
    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)

    def result(self, check_id: str) -> CheckResult:
        return next(r for r in self.results if r.id == check_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "failed": [r.id for r in self.results if not r.passed],
            "checks": [r.to_dict() for r in self.results],
        }


def _finding_subject(finding: Mapping[str, Any]) -> str:
    return f"{finding.get('code')} at {finding.get('path')}"


def check_findings_answered(
    findings: Sequence[Mapping[str, Any]],
    rebuttal: RebuttalFacts | None,
    covered: Mapping[str, Sequence[ExhibitFacts]],
) -> CheckResult:
    """Every finding is answered by an exhibit covering its node, or listed as open."""
    problems: list[Problem] = []
    listed_open = 0
    for finding in findings:
        code, path = str(finding.get("code")), str(finding.get("path"))
        answer = rebuttal.status_of(code, path) if rebuttal is not None else None
        status = answer.status if answer is not None else None
        if covered.get(node_of(path)):
            continue
        if status in OPEN_STATUSES:
            listed_open += 1
        elif status == CONTEXT_STATUS:
            continue  # a risk fact (sector, origin country) that no document removes
        elif status == "cleared":
            problems.append(
                Problem(_finding_subject(finding), "marked cleared but no exhibit covers it")
            )
        else:
            problems.append(
                Problem(
                    _finding_subject(finding),
                    "no exhibit covers it and the rebuttal does not list it as open",
                )
            )
    notes = (
        (f"{listed_open} finding(s) without evidence are listed as open",) if listed_open else ()
    )
    return CheckResult(
        "findings_answered", "Every finding answered or listed as open", tuple(problems), notes
    )


def check_tracing_records(
    nodes: Sequence[SupplyNode],
    covered: Mapping[str, Sequence[ExhibitFacts]],
    transaction_types: frozenset[str] = TRANSACTION_RECORD_TYPES,
    production_types: frozenset[str] = PRODUCTION_RECORD_TYPES,
) -> CheckResult:
    """Every line and input has a transaction record (G-06) and a production record (G-07)."""
    problems: list[Problem] = []
    for node in nodes:
        if node.kind is NodeKind.ENTRY:
            continue
        types = {exhibit.checklist_id for exhibit in covered.get(node.path, ())}
        if not types & transaction_types:
            problems.append(Problem(node.path, f"no transaction record (G-06) for {node.title}"))
        if not types & production_types:
            problems.append(Problem(node.path, f"no production record (G-07) for {node.title}"))
    return CheckResult(
        "tracing_records",
        "Every supply-chain node covered by a transaction record (G-06) and a production "
        "record (G-07)",
        tuple(problems),
        (
            "counted as transaction records: " + ", ".join(sorted(transaction_types)),
            "counted as production records: " + ", ".join(sorted(production_types)),
        ),
    )


def cited_exhibit_numbers(narrative: str) -> set[int]:
    """Exhibit numbers the narrative cites ("Exhibit 3", "Exhibits 4 and 5", "Ex. 2-3")."""
    cited: set[int] = set()
    for match in _EXHIBIT_CITATION.finditer(narrative):
        text = match.group(1)
        for low, high in re.findall(r"(\d+)\s*-\s*(\d+)", text):
            cited.update(range(int(low), int(high) + 1))
        cited.update(int(n) for n in re.findall(r"\d+", text))
    return cited


def manifest_paths(manifest: Manifest, nodes: Iterable[SupplyNode]) -> frozenset[str]:
    """Every path an exhibit may cover."""
    paths = {node.path for node in nodes}
    paths.update(path for path, _ in iter_parties(manifest))
    paths.update({ENTRY, "country_of_origin", "country_of_export"})
    return frozenset(paths)


def check_exhibits_referenced(
    manifest: Manifest,
    nodes: Sequence[SupplyNode],
    exhibits: Sequence[ExhibitFacts],
    narrative: str,
) -> CheckResult:
    """Every exhibit is referenced at least once: it covers a node of this manifest or the
    narrative cites it. Covered paths that are not in the manifest are reported too."""
    known = manifest_paths(manifest, nodes)
    cited = cited_exhibit_numbers(narrative)
    problems: list[Problem] = []
    seen: set[int] = set()
    for exhibit in sorted(exhibits, key=lambda e: e.number):
        if exhibit.number in seen:
            problems.append(Problem(exhibit.label, "exhibit number used twice"))
        seen.add(exhibit.number)
        unknown = [path for path in exhibit.covers if path not in known]
        for path in unknown:
            problems.append(
                Problem(exhibit.label, f"covers '{path}', which is not in the manifest")
            )
        if len(unknown) == len(exhibit.covers) and exhibit.number not in cited:
            problems.append(
                Problem(exhibit.label, "referenced nowhere: it covers no node and is not cited")
            )
    for number in sorted(cited - seen):
        problems.append(Problem(f"Exhibit {number}", "cited in the narrative but not attached"))
    return CheckResult(
        "exhibits_referenced", "Every exhibit referenced at least once", tuple(problems)
    )


def _unit(unit: str | None) -> str | None:
    return unit.strip().upper() if unit and unit.strip() else None


def _amount(value: float) -> str:
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def check_mass_balance(nodes: Sequence[SupplyNode]) -> CheckResult:
    """Declared inputs must be able to make the declared output: for each node with a
    quantity, the inputs declared in the same unit may not add up to less."""
    upstream: dict[str, list[SupplyNode]] = {}
    for node in nodes:
        if node.downstream is not None:
            upstream.setdefault(node.downstream, []).append(node)
    problems: list[Problem] = []
    for node in nodes:
        unit = _unit(node.unit)
        if node.quantity is None or unit is None:
            continue
        same_unit = [
            child
            for child in upstream.get(node.path, [])
            if child.quantity is not None and _unit(child.unit) == unit
        ]
        if not same_unit:
            continue  # nothing comparable declared upstream
        supplied = sum(child.quantity for child in same_unit if child.quantity is not None)
        if supplied < node.quantity * (1 - 1e-9):
            problems.append(
                Problem(
                    node.path,
                    f"{_amount(supplied)} {unit} declared upstream "
                    f"({', '.join(c.title for c in same_unit)}) for {_amount(node.quantity)} "
                    f"{unit} of {node.title}: {_amount(node.quantity - supplied)} {unit} "
                    "unaccounted for",
                )
            )
    return CheckResult(
        "mass_balance", "Declared quantities reconcile from tier to tier", tuple(problems)
    )


def check_translations(exhibits: Sequence[ExhibitFacts]) -> CheckResult:
    """Foreign-language exhibits come with an English translation (G-11)."""
    problems = [
        Problem(e.label, f"in language '{e.language}' without an English translation")
        for e in sorted(exhibits, key=lambda e: e.number)
        if e.needs_translation
    ]
    unstated = [e.label for e in exhibits if e.language is None]
    notes = (f"language not stated: {', '.join(unstated)}",) if unstated else ()
    return CheckResult(
        "translations", "Foreign-language exhibits translated into English (G-11)",
        tuple(problems), notes,
    )  # fmt: skip


def run_checks(report: ShipmentReport) -> ReviewerChecks:
    nodes = supply_nodes(report.manifest)
    covered = coverage(nodes, report.exhibits)
    narrative = report.rebuttal.narrative if report.rebuttal is not None else ""
    return ReviewerChecks(
        (
            check_findings_answered(report.findings, report.rebuttal, covered),
            check_tracing_records(nodes, covered),
            check_exhibits_referenced(report.manifest, nodes, report.exhibits, narrative),
            check_mass_balance(nodes),
            check_translations(report.exhibits),
        )
    )
