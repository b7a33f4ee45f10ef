"""The supply chain as a list of nodes (the entry, its lines, every input at every tier), and
the mapping from any manifest path (a supplier, a party, an origin field) to its node.

Shared by the map, the reviewer checks and the package so all three agree on what a node is
and which exhibits cover it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from app.domain.manifest import Input, Manifest, Party, iter_inputs
from app.reports.model import ExhibitFacts

ENTRY = "shipment"  # the node of the entry itself (shipment parties, origin fields)

_LINE = re.compile(r"^lines\[(\d+)\]")
_INPUT_PREFIX = re.compile(r"^(lines\[\d+\](?:\.inputs\[\d+\])*)")


class NodeKind(StrEnum):
    ENTRY = "entry"
    LINE = "line"
    INPUT = "input"


@dataclass(frozen=True, slots=True)
class SupplyNode:
    path: str
    kind: NodeKind
    tier: int  # 0 for lines and the entry, 1 for a line's direct inputs, ...
    downstream: str | None  # the node this one feeds (None for the entry)
    title: str  # "raw cotton", "Line 1: Men's cotton knit T-shirts", "Entry ENTRY-..."
    hts_code: str | None = None
    place: str | None = None  # "Aksu Prefecture, CN"
    party: str | None = None  # supplier or manufacturer, with its address
    quantity: float | None = None
    unit: str | None = None


def node_of(path: str) -> str:
    """The node a manifest path belongs to: a supplier belongs to its input, a manufacturer
    to its line, shipment parties and origin fields to the entry."""
    match = _INPUT_PREFIX.match(path)
    return match.group(1) if match else ENTRY


def line_of(path: str) -> str | None:
    match = _LINE.match(path)
    return f"lines[{match.group(1)}]" if match else None


def _place(region: str | None, country: str | None) -> str | None:
    parts = [p for p in (region, country) if p]
    return ", ".join(parts) if parts else None


def describe_party(party: Party | None) -> str | None:
    if party is None:
        return None
    details = [d for d in (party.address, party.country) if d]
    return f"{party.name} ({', '.join(details)})" if details else party.name


def _input_title(item: Input) -> str:
    return item.material or (f"HTS {item.hts_code}" if item.hts_code else "undeclared input")


def supply_nodes(manifest: Manifest) -> tuple[SupplyNode, ...]:
    """The entry, then each line followed by its inputs depth first (manifest order)."""
    parties = "; ".join(f"{p.role or 'party'}: {describe_party(p)}" for p in manifest.parties)
    nodes = [
        SupplyNode(
            path=ENTRY,
            kind=NodeKind.ENTRY,
            tier=0,
            downstream=None,
            title=f"Entry {manifest.reference}",
            place=_place(
                f"origin {manifest.country_of_origin}" if manifest.country_of_origin else None,
                f"export {manifest.country_of_export}" if manifest.country_of_export else None,
            ),
            party=f"importer: {manifest.importer}" + (f"; {parties}" if parties else ""),
        )
    ]
    inputs_by_line: dict[int, list[SupplyNode]] = {}
    for node in iter_inputs(manifest):
        parent = node.path.rsplit(".inputs[", 1)[0]
        item = node.input
        inputs_by_line.setdefault(node.line_index, []).append(
            SupplyNode(
                path=node.path,
                kind=NodeKind.INPUT,
                tier=node.tier,
                downstream=parent,
                title=_input_title(item),
                hts_code=item.hts_code,
                place=_place(item.region, item.country_of_origin),
                party=describe_party(item.supplier),
                quantity=item.quantity,
                unit=item.unit,
            )
        )
    for index, line in enumerate(manifest.lines):
        nodes.append(
            SupplyNode(
                path=f"lines[{index}]",
                kind=NodeKind.LINE,
                tier=0,
                downstream=ENTRY,
                title=f"Line {line.line_number}: {line.description}",
                hts_code=line.hts_code,
                place=_place(line.region, line.country_of_origin),
                party=describe_party(line.manufacturer),
                quantity=line.quantity,
                unit=line.unit,
            )
        )
        nodes.extend(inputs_by_line.get(index, []))
    return tuple(nodes)


def coverage(
    nodes: Sequence[SupplyNode], exhibits: Iterable[ExhibitFacts]
) -> dict[str, list[ExhibitFacts]]:
    """Per node path, the exhibits covering it (a path of its supplier counts), in number
    order. Paths that name no node of this manifest are ignored here (checks report them)."""
    covered: dict[str, list[ExhibitFacts]] = {node.path: [] for node in nodes}
    for exhibit in sorted(exhibits, key=lambda e: e.number):
        for target in dict.fromkeys(node_of(path) for path in exhibit.covers):
            if target in covered:
                covered[target].append(exhibit)
    return covered


class FindingCategory(StrEnum):
    """How the map and the package group findings (colour and legend)."""

    XINJIANG = "xinjiang"
    LIST_MATCH = "list_match"
    GAP = "gap"
    RISK = "risk"  # amplifiers: sector, origin; context, not a nexus


CATEGORY_TITLES: Mapping[FindingCategory, str] = {
    FindingCategory.XINJIANG: "Xinjiang nexus",
    FindingCategory.LIST_MATCH: "List match",
    FindingCategory.GAP: "Supply-chain gap",
    FindingCategory.RISK: "Risk factor",
}

_CATEGORY_OF_CODE: Mapping[str, FindingCategory] = {
    "XUAR_PLACE": FindingCategory.XINJIANG,
    "XUAR_POSTCODE": FindingCategory.XINJIANG,
    "XUAR_REGISTRATION": FindingCategory.XINJIANG,
    "XPCC_UNIT": FindingCategory.XINJIANG,
    "ENTITY_LIST_MATCH": FindingCategory.LIST_MATCH,
    "SANCTIONS_MATCH": FindingCategory.LIST_MATCH,
    "RESTRICTED_PARTY_MATCH": FindingCategory.LIST_MATCH,
    "ENTITY_LIST_POSSIBLE_MATCH": FindingCategory.LIST_MATCH,
    "SANCTIONS_POSSIBLE_MATCH": FindingCategory.LIST_MATCH,
    "RESTRICTED_PARTY_POSSIBLE_MATCH": FindingCategory.LIST_MATCH,
    # An undeclared origin and a look-alike place name both leave the origin unproven.
    "SUPPLY_CHAIN_GAP": FindingCategory.GAP,
    "XUAR_AMBIGUOUS_PLACE": FindingCategory.GAP,
}

SEVERITY_ORDER: Mapping[str, int] = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


def category_of(finding: Mapping[str, Any]) -> FindingCategory:
    """Unknown codes are grouped by severity so a new code still shows on the map."""
    known = _CATEGORY_OF_CODE.get(str(finding.get("code")))
    if known is not None:
        return known
    return FindingCategory.GAP if severity_rank(finding) >= 3 else FindingCategory.RISK


def severity_rank(finding: Mapping[str, Any]) -> int:
    return SEVERITY_ORDER.get(str(finding.get("severity")), 0)


def findings_by_node(
    findings: Iterable[Mapping[str, Any]],
) -> dict[str, list[Mapping[str, Any]]]:
    """Findings grouped by node path, most severe first."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for finding in findings:
        grouped.setdefault(node_of(str(finding.get("path", ""))), []).append(finding)
    for items in grouped.values():
        items.sort(key=severity_rank, reverse=True)
    return grouped
