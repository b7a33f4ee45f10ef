"""The supply-chain map: every line and input, tier by tier, from raw material (left) to the
imported good and the entry (right), as a Graphviz graph.

`supply_map_dot` is pure (it returns DOT source); `render` calls Graphviz's `dot` to lay it
out as SVG or PNG. Nodes are named by their manifest path, so the SVG's <title> of each node
is its path. Fill colour says what kind of finding a node carries (Xinjiang nexus, list match,
gap), the border's colour and width its worst severity, and a dashed border with "NO
EVIDENCE" marks a node no exhibit covers.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Literal

import graphviz  # type: ignore[import-untyped]

from app.errors import RendererUnavailable
from app.reports.chain import (
    CATEGORY_TITLES,
    FindingCategory,
    NodeKind,
    SupplyNode,
    category_of,
    coverage,
    findings_by_node,
    severity_rank,
    supply_nodes,
)
from app.reports.model import ExhibitFacts, ShipmentReport

FONT = "Noto Sans CJK SC"  # renders the Chinese names of suppliers (Debian fonts-noto-cjk)
WRAP = 38  # label width in Latin characters; a CJK character counts as two
MAX_FINDING_ROWS = 3

CATEGORY_FILL: Mapping[FindingCategory | None, str] = {
    FindingCategory.XINJIANG: "#f6c7c1",
    FindingCategory.LIST_MATCH: "#e2d2f0",
    FindingCategory.GAP: "#fde7a9",
    FindingCategory.RISK: "#ffffff",
    None: "#ffffff",
}
SEVERITY_BORDER: Mapping[str, tuple[str, float]] = {
    "critical": ("#b2182b", 3.0),
    "high": ("#d6604d", 2.5),
    "medium": ("#d08c00", 2.0),
    "low": ("#7f7f7f", 1.2),
    "info": ("#7f7f7f", 1.0),
    "none": ("#4d4d4d", 1.0),
}
_CATEGORY_PRIORITY = (FindingCategory.XINJIANG, FindingCategory.LIST_MATCH, FindingCategory.GAP)
_RANK_NAME = {4: "critical", 3: "high", 2: "medium", 1: "low", 0: "info"}


@dataclass(frozen=True, slots=True)
class NodeStyle:
    category: FindingCategory | None  # the worst nexus/list/gap category, or None
    severity: str  # worst severity among the node's findings, or "none"
    covered: bool


def _width(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def wrap(text: str, width: int = WRAP) -> list[str]:
    """Greedy wrap on spaces that also breaks runs of CJK characters (which have none)."""
    lines: list[str] = []
    current = ""
    used = 0
    for word in text.split(" "):
        word_width = sum(_width(c) for c in word)
        if current and used + 1 + word_width <= width:
            current, used = f"{current} {word}", used + 1 + word_width
            continue
        if current:
            lines.append(current)
        current, used = "", 0
        for char in word:  # a word wider than a line is cut, character by character
            if used + _width(char) > width:
                lines.append(current)
                current, used = "", 0
            current += char
            used += _width(char)
    if current:
        lines.append(current)
    return lines or [""]


def _text(text: str, width: int = WRAP) -> str:
    return "<BR/>".join(escape(line) for line in wrap(text, width))


def _row(content: str, *, size: int = 10, color: str | None = None, bold: bool = False) -> str:
    body = f"<B>{content}</B>" if bold else content
    font = f'<FONT POINT-SIZE="{size}"' + (f' COLOR="{color}"' if color else "") + ">"
    return f'<TR><TD ALIGN="LEFT" BALIGN="LEFT">{font}{body}</FONT></TD></TR>'


def node_style(findings: Sequence[Mapping[str, Any]], covered: bool) -> NodeStyle:
    categories = {category_of(f) for f in findings}
    category = next((c for c in _CATEGORY_PRIORITY if c in categories), None)
    if category is None and findings:
        category = FindingCategory.RISK
    severity = _RANK_NAME[max(severity_rank(f) for f in findings)] if findings else "none"
    return NodeStyle(category=category, severity=severity, covered=covered)


def _quantity(node: SupplyNode) -> str | None:
    if node.quantity is None:
        return None
    amount = f"{node.quantity:,.3f}".rstrip("0").rstrip(".")
    return f"{amount} {node.unit or ''}".strip()


def _finding_line(finding: Mapping[str, Any], status: str | None) -> str:
    where = str(finding.get("path", ""))
    part = " (supplier)" if where.endswith(".supplier") else ""
    part = " (manufacturer)" if where.endswith(".manufacturer") else part
    suffix = f" [{status}]" if status else ""
    title = CATEGORY_TITLES[category_of(finding)]
    return (
        f"{str(finding.get('severity', '')).upper()} {title}: {finding.get('code')}{part}{suffix}"
    )


def _label(
    node: SupplyNode,
    findings: Sequence[Mapping[str, Any]],
    exhibits: Sequence[ExhibitFacts],
    statuses: Mapping[tuple[str, str], str],
) -> str:
    rows = [_row(_text(node.title), size=11, bold=True)]
    facts = [f"HTS {node.hts_code}" if node.hts_code else None, _quantity(node)]
    if node.kind is NodeKind.INPUT:
        facts.append(f"tier {node.tier}")
    if any(facts):
        rows.append(_row(escape(" · ".join(f for f in facts if f)), size=9, color="#404040"))
    if node.place:
        rows.append(_row(_text(f"Origin: {node.place}" if node.kind is not NodeKind.ENTRY
                                else node.place)))  # fmt: skip
    if node.party:
        who = {NodeKind.INPUT: "Supplier: ", NodeKind.LINE: "Manufacturer: "}.get(node.kind, "")
        rows.append(_row(_text(who + node.party)))
    serious = [f for f in findings if category_of(f) is not FindingCategory.RISK]
    for finding in serious[:MAX_FINDING_ROWS]:
        status = statuses.get((str(finding.get("code")), str(finding.get("path"))))
        rows.append(_row(_text(_finding_line(finding, status)), bold=True, color="#7a0019"))
    if len(serious) > MAX_FINDING_ROWS:
        rows.append(_row(f"+{len(serious) - MAX_FINDING_ROWS} more finding(s)", color="#7a0019"))
    risks = sorted({str(f.get("code")) for f in findings if f not in serious})
    if risks:
        rows.append(_row(_text("Risk: " + ", ".join(risks)), size=9, color="#404040"))
    if exhibits:
        cited = ", ".join(f"Ex. {e.number} {e.checklist_id}" for e in exhibits)
        rows.append(_row(_text("Evidence: " + cited), color="#1a6d2f", bold=True))
    else:
        rows.append(_row("NO EVIDENCE", color="#b2182b", bold=True))
    rows.append(_row(escape(node.path), size=8, color="#6b6b6b"))
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{"".join(rows)}</TABLE>>'


def _legend() -> str:
    def cell(fill: str, border: str, style: str, text: str) -> str:
        return (
            f'<TD BGCOLOR="{fill}" COLOR="{border}" BORDER="2" STYLE="{style}" CELLPADDING="4">'
            f'<FONT POINT-SIZE="10">{escape(text)}</FONT></TD>'
        )

    kinds = [
        cell(CATEGORY_FILL[FindingCategory.XINJIANG], "#4d4d4d", "solid", "Xinjiang nexus"),
        cell(CATEGORY_FILL[FindingCategory.LIST_MATCH], "#4d4d4d", "solid", "List match"),
        cell(CATEGORY_FILL[FindingCategory.GAP], "#4d4d4d", "solid", "Supply-chain gap"),
        cell("#ffffff", "#4d4d4d", "solid", "No nexus finding"),
        cell("#ffffff", "#4d4d4d", "dashed", "Dashed: no evidence"),
    ]
    severities = [
        cell("#ffffff", SEVERITY_BORDER[s][0], "solid", f"{s} border")
        for s in ("critical", "high", "medium", "low")
    ]
    return (
        '<<TABLE BORDER="0" CELLSPACING="4">'
        '<TR><TD COLSPAN="5" ALIGN="LEFT"><FONT POINT-SIZE="12"><B>Legend</B> — fill: kind of '
        "finding; border colour and width: worst severity; raw material on the left, the "
        "imported goods and the entry on the right</FONT></TD></TR>"
        f"<TR>{''.join(kinds)}</TR><TR>{''.join(severities)}<TD></TD></TR></TABLE>>"
    )


def supply_map_dot(report: ShipmentReport, *, line_index: int | None = None) -> str:
    """DOT source of the map; `line_index` restricts it to one line (and the entry)."""
    nodes = [
        n
        for n in supply_nodes(report.manifest)
        if line_index is None
        or n.kind is NodeKind.ENTRY
        or n.path == f"lines[{line_index}]"
        or n.path.startswith(f"lines[{line_index}].")
    ]
    covered = coverage(nodes, report.exhibits)
    findings = findings_by_node(report.findings)
    statuses: dict[tuple[str, str], str] = {}
    if report.rebuttal is not None:
        statuses = {(a.code, a.path): a.status for a in report.rebuttal.findings}

    graph = graphviz.Digraph(name="supply_chain", engine="dot")
    graph.attr(
        rankdir="LR",
        nodesep="0.18",
        ranksep="0.55",
        fontname=FONT,
        label=_legend(),
        labelloc="b",
        labeljust="l",
        tooltip=f"Supply chain of entry {report.shipment.reference}",
    )
    graph.attr("node", shape="box", fontname=FONT, margin="0.08,0.04")
    graph.attr("edge", color="#555555", arrowsize="0.7")
    for node in nodes:
        own = findings.get(node.path, [])
        style = node_style(own, covered=bool(covered[node.path]))
        border, width = SEVERITY_BORDER[style.severity]
        tooltip = "\n".join([node.path, *(str(f.get("message", "")) for f in own)])
        graph.node(
            node.path,
            label=_label(node, own, covered[node.path], statuses),
            style="rounded,filled" + ("" if style.covered else ",dashed"),
            fillcolor=CATEGORY_FILL[style.category],
            color=border,
            penwidth=str(width),
            tooltip=tooltip[:500],
            **{
                "class": " ".join(
                    [
                        f"kind-{node.kind.value}",
                        f"severity-{style.severity}",
                        f"category-{style.category.value if style.category else 'none'}",
                        "covered" if style.covered else "uncovered",
                    ]
                )
            },
        )
    for node in nodes:
        if node.downstream is not None:
            graph.edge(node.path, node.downstream)
    source: str = graph.source
    return source


def with_dpi(dot_source: str, dpi: int) -> str:
    """The same graph at another resolution for raster output (PNG)."""
    head, brace, rest = dot_source.partition("{")
    return f"{head}{brace}\n\tdpi={dpi}{rest}"


def render(dot_source: str, fmt: Literal["svg", "png"]) -> bytes:
    """Lay the graph out with Graphviz `dot` (Debian package graphviz)."""
    try:
        out: bytes = graphviz.Source(dot_source).pipe(format=fmt, engine="dot")
    except graphviz.ExecutableNotFound as exc:
        raise RendererUnavailable(
            "the supply-chain map needs Graphviz `dot` (Debian package graphviz)"
        ) from exc
    except graphviz.CalledProcessError as exc:
        raise RendererUnavailable("Graphviz failed to lay out the supply-chain map") from exc
    return out
