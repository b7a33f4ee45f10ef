"""Rebuttal review: which findings the importer's evidence answers, and what is still missing.

Pure (no I/O). Input: the re-assessment of the (revised or original) manifest, the findings of
the assessment the importer is answering, the evidence items (type, covers) and the rule set.
The rules are data (rules/evidence.yaml `review`):

- `reviewer_only` codes (presumption grounds, strong sanctions/restricted matches) are never
  cleared automatically: status `needs_reviewer`, with the evidence that covers them listed.
  A ground that a revised manifest makes disappear also needs a reviewer.
- `clearable` codes are `cleared` when every required group is answered by an item covering
  the finding's node (or, for scope `every_tier`, the input and every input below it); when
  not, `open` if the rule is blocking, else `context`.
- `context` codes (sectors) are facts no document changes: status `context`.

An applicability review recommends admit when nothing is `open` or `needs_reviewer` and the
findings left standing score below the detain threshold. An exception request never admits:
it is checked for completeness against the §3(b) conditions and waits for a reviewer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from app.domain.assessment import Assessment, Finding, Recommendation
from app.domain.evidence import SHIPMENT
from app.domain.manifest import Manifest, iter_inputs, iter_parties
from app.domain.paths import path_sort_key
from app.domain.rules import ClearingRule, ClearingScope, RuleSet
from app.domain.scoring import risk_score

ENGLISH = "en"


class RebuttalKind(StrEnum):
    APPLICABILITY = "applicability"
    EXCEPTION = "exception"


class FindingStatus(StrEnum):
    CLEARED = "cleared"
    OPEN = "open"
    NEEDS_REVIEWER = "needs_reviewer"
    CONTEXT = "context"  # risk fact that evidence does not remove; never blocks on its own


class ConditionStatus(StrEnum):
    INCOMPLETE = "incomplete"
    FOR_REVIEWER = "for_reviewer"  # documented; whether it convinces is a reviewer's call


@dataclass(frozen=True, slots=True)
class EvidenceClaim:
    """One evidence item as the review sees it (documents are checked by the service)."""

    type: str  # checklist id, e.g. G-05
    covers: tuple[str, ...]  # manifest paths
    language: str | None = None  # ISO 639-1 of the documents
    translated: bool = False  # an English translation document is attached


@dataclass(frozen=True, slots=True)
class PriorFinding:
    """A finding of the assessment being answered (read back from storage)."""

    code: str
    path: str
    severity: str
    message: str


@dataclass(frozen=True, slots=True)
class MissingItem:
    path: str
    any_of: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "any_of": list(self.any_of)}


@dataclass(frozen=True, slots=True)
class FindingReview:
    code: str
    path: str
    severity: str
    message: str
    status: FindingStatus
    reason: str
    answered_by: tuple[int, ...] = ()  # indices into the rebuttal's evidence list
    missing: tuple[MissingItem, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "path": self.path,
            "severity": self.severity,
            "message": self.message,
            "status": self.status.value,
            "reason": self.reason,
            "answered_by": list(self.answered_by),
            "missing": [m.to_dict() for m in self.missing],
        }


@dataclass(frozen=True, slots=True)
class MissingChecklist:
    """Checklist items asked for one node (the shipment or a line) and one group."""

    for_path: str
    group: str  # general, cotton, polysilicon, ...
    ids: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"for": self.for_path, "group": self.group, "missing": list(self.ids)}


@dataclass(frozen=True, slots=True)
class ConditionReview:
    id: str
    title: str
    status: ConditionStatus
    missing: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status.value,
            "missing": list(self.missing),
        }


@dataclass(frozen=True, slots=True)
class RebuttalReview:
    kind: RebuttalKind
    findings: tuple[FindingReview, ...]
    missing_evidence: tuple[MissingChecklist, ...]
    translations_missing: tuple[int, ...]
    conditions: tuple[ConditionReview, ...]  # exception requests only
    residual_score: int
    residual_level: str
    recommendation: Recommendation
    waits_for_reviewer: bool

    def count(self, status: FindingStatus) -> int:
        return sum(1 for f in self.findings if f.status is status)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "recommendation": self.recommendation.value,
            "waits_for_reviewer": self.waits_for_reviewer,
            "residual_score": self.residual_score,
            "residual_level": self.residual_level,
            "summary": {status.value: self.count(status) for status in FindingStatus},
            "findings": [f.to_dict() for f in self.findings],
            "missing_evidence": [m.to_dict() for m in self.missing_evidence],
            "translations_missing": list(self.translations_missing),
            "exception_conditions": [c.to_dict() for c in self.conditions],
        }


def manifest_paths(manifest: Manifest) -> frozenset[str]:
    """Every path evidence may cover: the shipment, lines, inputs, parties, origin fields."""
    paths = {SHIPMENT}
    paths.update(f"lines[{i}]" for i in range(len(manifest.lines)))
    paths.update(path for path, _ in iter_parties(manifest))
    paths.update(node.path for node in iter_inputs(manifest))
    if manifest.country_of_origin:
        paths.add("country_of_origin")
    if manifest.country_of_export:
        paths.add("country_of_export")
    return frozenset(paths)


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + ".")


def _covering(evidence: Sequence[EvidenceClaim], path: str) -> tuple[int, ...]:
    return tuple(i for i, item in enumerate(evidence) if path in item.covers)


def _tiers(manifest: Manifest, path: str) -> list[str]:
    """The input at `path` and every input below it."""
    below = [node.path for node in iter_inputs(manifest) if node.path.startswith(path + ".")]
    return [path, *below]


def _apply_rule(
    finding: Finding, rule: ClearingRule, evidence: Sequence[EvidenceClaim], manifest: Manifest
) -> FindingReview:
    every_tier = rule.scope is ClearingScope.EVERY_TIER
    paths = _tiers(manifest, finding.path) if every_tier else [finding.path]
    answered: set[int] = set()
    missing: list[MissingItem] = []
    for path in paths:
        for group in rule.requires:
            hits = [i for i in _covering(evidence, path) if evidence[i].type in group]
            if hits:
                answered.update(hits)
            else:
                missing.append(MissingItem(path, group))
    if not missing:
        status = FindingStatus.CLEARED
        reason = f"evidence shows {rule.shows}"
    else:
        status = FindingStatus.OPEN if rule.blocking else FindingStatus.CONTEXT
        needed = "; ".join(f"{m.path}: one of {', '.join(m.any_of)}" for m in missing)
        reason = f"to clear, show {rule.shows} ({needed})"
    return FindingReview(
        code=finding.code,
        path=finding.path,
        severity=finding.severity.value,
        message=finding.message,
        status=status,
        reason=reason,
        answered_by=tuple(sorted(answered)),
        missing=tuple(missing),
    )


def _review_finding(
    finding: Finding, evidence: Sequence[EvidenceClaim], manifest: Manifest, rules: RuleSet
) -> FindingReview:
    review = rules.evidence.review
    rule = review.clearing.get(finding.code)
    if rule is not None:
        return _apply_rule(finding, rule, evidence, manifest)
    if finding.code in review.context:
        return FindingReview(
            code=finding.code,
            path=finding.path,
            severity=finding.severity.value,
            message=finding.message,
            status=FindingStatus.CONTEXT,
            reason="a fact about the goods; raises risk but no document removes it",
        )
    # reviewer_only, or a code the rules do not classify: a person decides.
    return FindingReview(
        code=finding.code,
        path=finding.path,
        severity=finding.severity.value,
        message=finding.message,
        status=FindingStatus.NEEDS_REVIEWER,
        reason="a presumption or sanctions ground is never cleared automatically; "
        "a reviewer weighs the evidence listed",
        answered_by=_covering(evidence, finding.path),
    )


def _removed_by_revision(
    prior: Iterable[PriorFinding], current: Sequence[Finding], rules: RuleSet
) -> list[FindingReview]:
    """Findings of the answered assessment that the revised manifest no longer produces."""
    still = {(f.code, f.path) for f in current}
    out: list[FindingReview] = []
    seen: set[tuple[str, str]] = set()
    for old in prior:
        key = (old.code, old.path)
        if key in still or key in seen:
            continue
        seen.add(key)
        if old.code in rules.evidence.review.clearing or old.code in rules.evidence.review.context:
            status = FindingStatus.CLEARED
            reason = "resolved by the revised manifest"
        else:
            status = FindingStatus.NEEDS_REVIEWER
            reason = (
                "a presumption or sanctions ground removed by the revised manifest; "
                "a reviewer must accept the correction"
            )
        out.append(
            FindingReview(
                code=old.code,
                path=old.path,
                severity=old.severity,
                message=old.message,
                status=status,
                reason=reason,
            )
        )
    return out


def _provided_for(evidence: Sequence[EvidenceClaim], item_id: str, for_path: str) -> bool:
    for item in evidence:
        if item.type != item_id:
            continue
        if for_path == SHIPMENT or any(_under(c, for_path) for c in item.covers):
            return True
    return False


def missing_checklist(
    assessment: Assessment, evidence: Sequence[EvidenceClaim], rules: RuleSet
) -> tuple[MissingChecklist, ...]:
    """Per node (shipment, each line) and checklist group: asked items no evidence provides."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for asked in assessment.required_evidence:
        if _provided_for(evidence, asked.id, asked.for_path):
            continue
        item = rules.evidence.items.get(asked.id)
        group = item.group if item is not None else "other"
        grouped.setdefault((asked.for_path, group), []).append(asked.id)
    return tuple(
        MissingChecklist(for_path, group, tuple(ids))
        for (for_path, group), ids in sorted(
            grouped.items(), key=lambda kv: (path_sort_key(kv[0][0]), kv[0][1])
        )
    )


def _conditions(
    assessment: Assessment,
    evidence: Sequence[EvidenceClaim],
    narrative: str,
    findings: Sequence[FindingReview],
    missing: Sequence[MissingChecklist],
    translations_missing: Sequence[int],
    rules: RuleSet,
) -> tuple[ConditionReview, ...]:
    exception = rules.evidence.review.exception
    provided = {item.type for item in evidence}
    out: list[ConditionReview] = []
    for condition in exception.conditions:
        gaps = [item_id for item_id in condition.requires if item_id not in provided]
        if condition.all_asked:
            gaps.extend(f"{item_id} for {m.for_path}" for m in missing for item_id in m.ids)
            gaps.extend(
                f"evidence covering {f.path} ({f.code})"
                for f in findings
                if f.status is FindingStatus.NEEDS_REVIEWER and not f.answered_by
            )
            gaps.extend(
                f"English translation (G-11) of evidence[{i}]" for i in translations_missing
            )
            if len(narrative.strip()) < exception.narrative_min_chars:
                gaps.append(f"a narrative of at least {exception.narrative_min_chars} characters")
        unique = tuple(dict.fromkeys(gaps))
        status = ConditionStatus.INCOMPLETE if unique else ConditionStatus.FOR_REVIEWER
        out.append(ConditionReview(condition.id, condition.title, status, unique))
    return tuple(out)


def review_rebuttal(
    kind: RebuttalKind,
    assessment: Assessment,
    evidence: Sequence[EvidenceClaim],
    narrative: str,
    manifest: Manifest,
    rules: RuleSet,
    prior_findings: Sequence[PriorFinding] = (),
) -> RebuttalReview:
    """Review a rebuttal against `assessment`, the re-assessment of `manifest`.

    `prior_findings` are the findings of the assessment being answered; when the rebuttal
    revised the manifest, those it no longer produces are reported too.
    """
    reviews = [_review_finding(f, evidence, manifest, rules) for f in assessment.findings]
    standing = [
        f
        for f, r in zip(assessment.findings, reviews, strict=True)
        if r.status is not FindingStatus.CLEARED
    ]
    reviews.extend(_removed_by_revision(prior_findings, assessment.findings, rules))
    residual = risk_score(standing, rules.scoring)
    blocked = any(r.status in (FindingStatus.OPEN, FindingStatus.NEEDS_REVIEWER) for r in reviews)
    translations_missing = tuple(
        i
        for i, item in enumerate(evidence)
        if item.language and item.language != ENGLISH and not item.translated
    )
    missing = missing_checklist(assessment, evidence, rules)
    conditions: tuple[ConditionReview, ...] = ()
    if kind is RebuttalKind.EXCEPTION:
        conditions = _conditions(
            assessment, evidence, narrative, reviews, missing, translations_missing, rules
        )
    admit = (
        kind is RebuttalKind.APPLICABILITY
        and not blocked
        and residual < rules.scoring.detain_threshold
    )
    reviews.sort(key=lambda r: (path_sort_key(r.path), r.code))
    return RebuttalReview(
        kind=kind,
        findings=tuple(reviews),
        missing_evidence=missing,
        translations_missing=translations_missing,
        conditions=conditions,
        residual_score=residual,
        residual_level=rules.scoring.level_for(residual),
        recommendation=Recommendation.ADMIT if admit else Recommendation.DETAIN,
        waits_for_reviewer=kind is RebuttalKind.EXCEPTION
        or any(r.status is FindingStatus.NEEDS_REVIEWER for r in reviews),
    )


def reviewed_assessment(assessment: Assessment, review: RebuttalReview) -> Assessment:
    """The re-assessment as stored: the engine's findings, the review's score and outcome."""
    return replace(
        assessment,
        recommendation=review.recommendation,
        risk_score=review.residual_score,
        risk_level=review.residual_level,
        review=review.to_dict(),
    )
