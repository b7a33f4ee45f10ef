"""Load rules/*.yaml into a validated, hashed, precompiled RuleSet - or refuse.

`load_ruleset(path)` reads a directory; `load_ruleset_from_documents(docs)` rebuilds a rule set
from stored texts (replay of an old assessment). Both raise `app.errors.InvalidRules` naming
the file, the key path and the reason, e.g. "rules/regions.yaml: places[3].chinese.0: ...".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from app.domain.codes import FINDING_CODES
from app.domain.rules import RuleSet
from app.errors import InvalidRules
from app.ruleset.chinese import traditional_to_simplified_table
from app.ruleset.compile import (
    compile_evidence,
    compile_regions,
    compile_scoring,
    compile_sectors,
)
from app.ruleset.schema import EvidenceDoc, RegionsDoc, ScoringDoc, SectorsDoc
from app.ruleset.yaml_io import parse_yaml

RULE_FILES: Mapping[str, type[BaseModel]] = {
    "regions.yaml": RegionsDoc,
    "sectors.yaml": SectorsDoc,
    "evidence.yaml": EvidenceDoc,
    "scoring.yaml": ScoringDoc,
}

_Model = TypeVar("_Model", bound=BaseModel)


def load_ruleset(path: Path) -> RuleSet:
    """Load the four rule files of directory `path` (e.g. Path("rules"))."""
    docs: dict[str, str] = {}
    for name in RULE_FILES:
        file = path / name
        try:
            docs[name] = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidRules(f"{path.name}/{name}: cannot read: {exc.strerror}") from exc
    return load_ruleset_from_documents(docs, label=path.name)


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def _validate(model: type[_Model], data: Any, label: str) -> _Model:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_format_loc(tuple(err['loc']))}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise InvalidRules(f"{label}: {problems}") from exc


def _version(parsed: Mapping[str, Any]) -> str:
    # Canonical JSON of the parsed documents: stable across comments, whitespace, key order.
    canonical = json.dumps(parsed, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def load_ruleset_from_documents(docs: Mapping[str, str], label: str = "rules") -> RuleSet:
    """Build a RuleSet from file name -> YAML text (the four files of RULE_FILES)."""
    missing = sorted(set(RULE_FILES) - set(docs))
    if missing:
        raise InvalidRules(f"{label}: missing rule file(s): {', '.join(missing)}")
    unknown = sorted(set(docs) - set(RULE_FILES))
    if unknown:
        raise InvalidRules(f"{label}: unknown rule file(s): {', '.join(unknown)}")

    parsed = {name: parse_yaml(docs[name], f"{label}/{name}") for name in RULE_FILES}
    regions = _validate(RegionsDoc, parsed["regions.yaml"], f"{label}/regions.yaml")
    sectors = _validate(SectorsDoc, parsed["sectors.yaml"], f"{label}/sectors.yaml")
    evidence = _validate(EvidenceDoc, parsed["evidence.yaml"], f"{label}/evidence.yaml")
    scoring = _validate(ScoringDoc, parsed["scoring.yaml"], f"{label}/scoring.yaml")
    _cross_check(sectors, evidence, scoring, label)

    table = traditional_to_simplified_table()
    return RuleSet(
        version=_version(parsed),
        documents=dict(sorted(docs.items())),
        regions=compile_regions(regions, table),
        sectors=compile_sectors(sectors, table),
        evidence=compile_evidence(evidence),
        scoring=compile_scoring(scoring),
        public={
            name.removesuffix(".yaml"): doc.model_dump(mode="json")
            for name, doc in (
                ("regions.yaml", regions),
                ("sectors.yaml", sectors),
                ("evidence.yaml", evidence),
                ("scoring.yaml", scoring),
            )
        },
    )


def _cross_check(
    sectors: SectorsDoc, evidence: EvidenceDoc, scoring: ScoringDoc, label: str
) -> None:
    known = {item.id for item in evidence.items}
    for i, sector in enumerate(sectors.sectors):
        for j, item_id in enumerate(sector.checklist):
            if item_id not in known:
                raise InvalidRules(
                    f"{label}/sectors.yaml: sectors[{i}].checklist[{j}]: "
                    f"unknown evidence id {item_id!r} (not in evidence.yaml)"
                )
    missing = sorted(FINDING_CODES - set(scoring.findings))
    if missing:
        raise InvalidRules(
            f"{label}/scoring.yaml: findings: no weight for finding code(s) {', '.join(missing)}"
        )
    unknown = sorted(set(scoring.findings) - FINDING_CODES)
    if unknown:
        raise InvalidRules(
            f"{label}/scoring.yaml: findings: unknown finding code(s) {', '.join(unknown)}"
        )
    for certainty in ("certain", "likely", "inference", "keyword"):
        if certainty not in scoring.certainty_factor:
            raise InvalidRules(
                f"{label}/scoring.yaml: certainty_factor: missing factor for {certainty!r}"
            )
    classified = set(evidence.review.classified_codes())
    unclassified = sorted(FINDING_CODES - classified)
    if unclassified:
        raise InvalidRules(
            f"{label}/evidence.yaml: review: finding code(s) {', '.join(unclassified)} are in "
            "none of reviewer_only, clearable, context"
        )
    unknown_review = sorted(classified - FINDING_CODES)
    if unknown_review:
        raise InvalidRules(
            f"{label}/evidence.yaml: review: unknown finding code(s) {', '.join(unknown_review)}"
        )
    levels = {r.level for r in scoring.risk_levels}
    for level in evidence.asked.high_risk_levels:
        if level not in levels:
            raise InvalidRules(
                f"{label}/evidence.yaml: asked.high_risk_levels: {level!r} is not a risk level "
                "of scoring.yaml"
            )
