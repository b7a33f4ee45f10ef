"""The evidence items CBP will ask for: general G-xx items and per-line sector checklists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from app.domain.assessment import RequiredEvidence
from app.domain.rules import EvidenceRules, Sector

SHIPMENT = "shipment"


def required_evidence(
    rules: EvidenceRules,
    presumption: bool,
    risk_level: str,
    sectors_by_line: Mapping[int, Sequence[Sector]],
) -> tuple[RequiredEvidence, ...]:
    """General items first (for the whole shipment), then each line's sector checklist.

    `sectors_by_line` holds, per line index, the sectors of the line and of all its inputs in
    rule-file order; an item asked twice for the same line is listed once.
    """
    general: Sequence[str] = ()
    if presumption:
        general = rules.when_presumption
    elif risk_level in rules.high_risk_levels:
        general = rules.when_high_risk
    # The answer depends only on these, and shipments repeat them (an apparel importer's
    # lines are cotton, line after line): building the items was 4% of an intake worker.
    key = (
        general,
        tuple((li, tuple(s.id for s in sectors_by_line[li])) for li in sorted(sectors_by_line)),
    )
    known: tuple[RequiredEvidence, ...] | None = rules.answers.get(key)
    if known is not None:
        return known
    answer = _required_evidence(rules, general, sectors_by_line)
    rules.answers.put(key, answer)
    return answer


def _required_evidence(
    rules: EvidenceRules, general: Sequence[str], sectors_by_line: Mapping[int, Sequence[Sector]]
) -> tuple[RequiredEvidence, ...]:
    wanted: dict[tuple[str, str], None] = {}  # ordered, deduplicated (id, for_path)
    for item_id in general:
        wanted[(item_id, SHIPMENT)] = None
    for line_index in sorted(sectors_by_line):
        line_path = f"lines[{line_index}]"
        for sector in sectors_by_line[line_index]:
            for item_id in sector.checklist:
                wanted[(item_id, line_path)] = None
    return tuple(
        RequiredEvidence(item_id, rules.items[item_id].title, for_path)
        for item_id, for_path in wanted
    )
