"""The rebuttal package as CBP's best practices for an applicability review lay it out:
cover, table of contents, executive summary, supply-chain flow chart, indexed exhibits with
translations flagged, the answer to every finding, reviewer checks and the assessment.

`package_html` is pure (the document as HTML, the map passed in as SVG); `render_pdf` lays it
out with WeasyPrint (Pango and fontconfig underneath), which embeds a subset of Noto Sans CJK
so supplier names in Chinese print as written. (reportlab cannot use Noto CJK: its TrueType
reader refuses fonts with PostScript outlines.)
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from typing import Any

from app.errors import RendererUnavailable
from app.reports.chain import (
    CATEGORY_TITLES,
    FindingCategory,
    NodeKind,
    SupplyNode,
    category_of,
    coverage,
    line_of,
    node_of,
    severity_rank,
    supply_nodes,
)
from app.reports.checks import (
    PRODUCTION_RECORD_TYPES,
    TRANSACTION_RECORD_TYPES,
    ReviewerChecks,
    run_checks,
)
from app.reports.model import ExhibitFacts, ShipmentReport

PT_IN_MM = 0.3528
FONT_FAMILY = "'Noto Sans CJK SC', 'Noto Sans CJK', sans-serif"
KIND_TITLES = {
    "applicability": "Request for Applicability Review",
    "exception": "Request for an Exception (UFLPA §3(b))",
}
STATUS_TITLES = {
    "cleared": "cleared",
    "open": "open",
    "needs_reviewer": "awaits CBP review",
    "context": "context (risk factor)",
}


@dataclass(frozen=True, slots=True)
class MapImage:
    """A rendered map (SVG) and what it shows."""

    title: str
    svg: bytes


def _e(value: object) -> str:
    return escape("" if value is None else str(value))


def _date(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def _svg_size(svg: bytes) -> tuple[float, float]:
    match = re.search(rb'<svg[^>]*width="([\d.]+)pt"[^>]*height="([\d.]+)pt"', svg)
    return (float(match.group(1)), float(match.group(2))) if match else (1.0, 1.0)


def _node_name(node: SupplyNode) -> str:
    if node.kind is NodeKind.INPUT:
        bits = [f"tier {node.tier} {node.title}"]
        if node.party:
            bits.append(f"from {node.party}")
        elif node.place:
            bits.append(f"({node.place})")
        return " ".join(bits)
    return node.title


def _exhibit_refs(exhibits: Sequence[ExhibitFacts]) -> str:
    if not exhibits:
        return '<span class="bad">no evidence</span>'
    return ", ".join(
        f'<a href="#exhibit-{e.number}">Exhibit {e.number}</a> ({_e(e.checklist_id)})'
        for e in exhibits
    )


def _head(*columns: tuple[str, int]) -> str:
    """A header row with column widths in percent: tables are laid out with fixed widths,
    which is much faster than measuring every cell of a large table."""
    cells = "".join(f"<th style='width:{width}%'>{_e(title)}</th>" for title, width in columns)
    return f"<tr>{cells}</tr>"


def _severity_badge(severity: str) -> str:
    return f'<span class="sev sev-{_e(severity)}">{_e(severity.upper())}</span>'


class _Context:
    """Everything derived once from the report and shared by the sections."""

    def __init__(self, report: ShipmentReport, checks: ReviewerChecks) -> None:
        self.report = report
        self.checks = checks
        self.nodes = supply_nodes(report.manifest)
        self.by_path = {node.path: node for node in self.nodes}
        self.covered = coverage(self.nodes, report.exhibits)
        self.exhibits = sorted(report.exhibits, key=lambda e: e.number)
        self.findings = sorted(
            report.findings, key=lambda f: (-severity_rank(f), str(f.get("path")))
        )
        self.serious = [f for f in self.findings if category_of(f) is not FindingCategory.RISK]
        self.risks = [f for f in self.findings if category_of(f) is FindingCategory.RISK]
        self.uncovered = [
            n for n in self.nodes if n.kind is not NodeKind.ENTRY and not self.covered[n.path]
        ]

    def status(self, finding: Mapping[str, Any]) -> tuple[str | None, str]:
        rebuttal = self.report.rebuttal
        answer = (
            rebuttal.status_of(str(finding.get("code")), str(finding.get("path")))
            if rebuttal is not None
            else None
        )
        return (answer.status, answer.reason) if answer is not None else (None, "")

    def answering(self, finding: Mapping[str, Any]) -> list[ExhibitFacts]:
        return self.covered.get(node_of(str(finding.get("path"))), [])

    def missing_for(self, finding: Mapping[str, Any]) -> list[str]:
        """What a reviewer would still ask for before this finding can be answered."""
        node = self.by_path.get(node_of(str(finding.get("path"))))
        status, _ = self.status(finding)
        exhibits = self.answering(finding)
        missing: list[str] = []
        if not exhibits:
            missing.append("no exhibit covers this supply-chain node")
        if node is not None and node.kind is not NodeKind.ENTRY:
            types = {e.checklist_id for e in exhibits}
            if not types & TRANSACTION_RECORD_TYPES:
                missing.append("a transaction record (G-06) for this node")
            if not types & PRODUCTION_RECORD_TYPES:
                missing.append("a production record (G-07) for this node")
        untranslated = [e for e in exhibits if e.needs_translation]
        if untranslated:
            missing.append(
                "English translation of " + ", ".join(f"Exhibit {e.number}" for e in untranslated)
            )
        if status == "open":
            missing.append("the re-assessment still lists this finding as open")
        if status == "needs_reviewer":
            missing.append(
                "a CBP reviewer's decision (this finding is never cleared automatically)"
            )
        return missing

    def required_not_supplied(self) -> list[Mapping[str, Any]]:
        """Checklist items the assessment asked for that no exhibit of that id answers."""
        out = []
        for item in self.report.assessment.get("required_evidence", []):
            scope = str(item.get("for"))
            supplied = any(
                e.checklist_id == item.get("id")
                and (
                    scope == "shipment" or any(line_of(p) == scope or p == scope for p in e.covers)
                )
                for e in self.exhibits
            )
            if not supplied:
                out.append(item)
        return out


_CSS = """
@page { size: A4; margin: 18mm 16mm 20mm 16mm;
  @bottom-left { content: %(footer)s; font-size: 7.5pt; color: #555; }
  @bottom-right { content: "page " counter(page) " of " counter(pages); font-size: 7.5pt;
                  color: #555; } }
@page landscape { size: A4 landscape; margin: 12mm; }
@page cover { @bottom-left { content: none; } }
html { font-family: %(font)s; font-size: 9.5pt; line-height: 1.35; color: #1a1a1a; }
h1 { font-size: 16pt; margin: 0 0 4mm 0; bookmark-level: 1; page-break-before: always; }
.map h1, .map-portrait h1 { page-break-before: avoid; }
h2 { font-size: 12pt; margin: 5mm 0 2mm 0; bookmark-level: 2; }
h3 { font-size: 10.5pt; margin: 4mm 0 1mm 0; bookmark-level: none; }
.cover { page: cover; }
.cover h1 { page-break-before: avoid; font-size: 22pt; margin-top: 30mm; }
.cover .entry { font-size: 18pt; font-weight: bold; margin: 0 0 8mm 0; }
table { border-collapse: collapse; width: 100%%; table-layout: fixed; margin: 2mm 0 3mm 0; }
th, td { border: 0.5pt solid #b5b5b5; padding: 1.2mm 1.6mm; vertical-align: top;
         text-align: left; }
th { background: #eef1f5; font-weight: bold; }
table.facts th { width: 38mm; }
td { overflow-wrap: anywhere; }
tr { page-break-inside: avoid; }
.mono { font-family: 'DejaVu Sans Mono', monospace; font-size: 7.6pt; }
.small { font-size: 8pt; color: #444; }
.bad { color: #b2182b; font-weight: bold; }
.good { color: #1a6d2f; font-weight: bold; }
.sev { font-weight: bold; padding: 0 1mm; border-radius: 1mm; }
.sev-critical { background: #f6c7c1; color: #7a0019; }
.sev-high { background: #f9d9c8; color: #8a2b0d; }
.sev-medium { background: #fde7a9; color: #6b4a00; }
.sev-low, .sev-info { background: #eeeeee; color: #333; }
.finding { border: 0.6pt solid #b5b5b5; padding: 2mm 3mm; margin: 0 0 3mm 0;
           page-break-inside: avoid; }
.narrative { border-left: 2pt solid #8aa; padding: 1mm 0 1mm 3mm; white-space: pre-wrap; }
ul.toc { list-style: none; padding: 0; }
ul.toc li { margin: 1.2mm 0; }
ul.toc a { color: inherit; text-decoration: none; }
ul.toc a::after { content: leader('.') target-counter(attr(href), page); }
ul.toc li.sub { margin-left: 6mm; font-size: 9pt; }
.map { page: landscape; page-break-before: always; }
.map-portrait { page-break-before: always; }
.map img, .map-portrait img { display: block; margin: 0 auto; }
.check-pass { color: #1a6d2f; font-weight: bold; }
.check-fail { color: #b2182b; font-weight: bold; }
a { color: #1f4e8c; }
"""


def _css(report: ShipmentReport) -> str:
    """The stylesheet, with the entry in every page's footer (documents link to the entry)."""
    footer = f"Entry {report.shipment.reference} · {report.shipment.importer}"
    # A CSS string inside <style>: escape quotes, backslashes and "<" (no "</style>" way out).
    escaped = footer.replace("\\", "\\5C ").replace('"', "\\22 ").replace("<", "\\3C ")
    quoted = f'"{escaped}"'
    return _CSS % {"font": FONT_FAMILY, "footer": quoted}


def _cover(ctx: _Context) -> str:
    report, shipment = ctx.report, ctx.report.shipment
    rebuttal = report.rebuttal
    kind = rebuttal.kind if rebuttal is not None else None
    title = KIND_TITLES.get(kind or "", "UFLPA Detention: Supply-Chain Evidence")
    assessment = report.assessment
    grounds = ", ".join(assessment.get("presumption", {}).get("grounds", [])) or "none"
    rows = [
        ("Importer", shipment.importer),
        ("Detained entry", shipment.reference),
        ("Shipment id", shipment.shipment_id),
        ("Entry date", _date(shipment.entry_date)),
        ("Case status", shipment.status),
        ("Submission", kind or "no rebuttal recorded"),
    ]
    if rebuttal is not None:
        rows += [("Rebuttal id", rebuttal.rebuttal_id), ("Submitted", _date(rebuttal.submitted_at))]
    rows += [
        (
            "Assessment",
            f"{assessment.get('recommendation', '?')} · risk score "
            f"{assessment.get('risk_score', '?')} ({assessment.get('risk_level', '?')}) · "
            f"presumption grounds: {grounds}",
        ),
        ("Exhibits", str(len(ctx.exhibits))),
        ("Generated", _date(report.generated_at)),
    ]
    facts = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    dates = "".join(
        f"<tr><th>{_e(d.label)}</th><td>{'<b>' if d.is_deadline else ''}{_date(d.on)}"
        f"{' (deadline)</b>' if d.is_deadline else ''}</td></tr>"
        for d in sorted(shipment.dates, key=lambda d: d.on)
    )
    dates_table = (
        f"<h2>Dates and deadlines</h2><table class='facts'>{dates}</table>"
        if dates
        else "<p class='small'>No case dates recorded.</p>"
    )
    return (
        f"<section class='cover'><h1>{_e(title)}</h1>"
        f"<p class='entry'>Entry {_e(shipment.reference)}</p>"
        f"<table class='facts'>{facts}</table>{dates_table}"
        "<p class='small'>Prepared under CBP's best practices for applicability reviews: "
        "executive summary, table of contents, indexed exhibits with English translations, and "
        "a supply-chain flow chart linking every document to the detained entry and to each "
        "supply-chain node. The service that prepared it recommends; CBP decides.</p></section>"
    )


SECTIONS = (
    ("summary", "Executive summary"),
    ("map", "Supply-chain flow chart"),
    ("exhibits", "Exhibit index"),
    ("findings", "Findings and how each is answered"),
    ("nodes", "Supply-chain nodes and their evidence"),
    ("checks", "Reviewer checks"),
    ("appendix", "Appendix: assessment, rule and list versions"),
)


CONDITIONS_SECTION = ("conditions", "The conditions of UFLPA §3(b)")


def _is_exception_request(report: ShipmentReport) -> bool:
    return report.rebuttal is not None and report.rebuttal.kind == "exception"


def _sections(report: ShipmentReport) -> tuple[tuple[str, str], ...]:
    if not _is_exception_request(report):
        return SECTIONS
    return (SECTIONS[0], CONDITIONS_SECTION, *SECTIONS[1:])


def _toc(sections: Sequence[tuple[str, str]]) -> str:
    items = "".join(f"<li><a href='#{sid}'>{_e(title)}</a></li>" for sid, title in sections)
    return f"<h1 id='contents' style='bookmark-level:1'>Contents</h1><ul class='toc'>{items}</ul>"


def _summary(ctx: _Context) -> str:
    report = ctx.report
    manifest = report.manifest
    assessment = report.assessment
    inputs = [n for n in ctx.nodes if n.kind is NodeKind.INPUT]
    tiers = max((n.tier for n in inputs), default=0)
    grounds = assessment.get("presumption", {}).get("grounds", [])
    counts: dict[str, int] = {}
    for finding in ctx.findings:
        status, _ = ctx.status(finding)
        counts[status or "not reviewed"] = counts.get(status or "not reviewed", 0) + 1
    chain_nodes = [n for n in ctx.nodes if n.kind is not NodeKind.ENTRY]
    covered = len(chain_nodes) - len(ctx.uncovered)
    kind = report.rebuttal.kind if report.rebuttal is not None else None
    opening = (
        f"<p>Entry <b>{_e(manifest.reference)}</b> of <b>{_e(manifest.importer)}</b> "
        f"({len(manifest.lines)} line(s), {len(inputs)} declared input(s) over {tiers} tier(s)) "
        f"was assessed <b>{_e(assessment.get('recommendation'))}</b> with a risk score of "
        f"{_e(assessment.get('risk_score'))} ({_e(assessment.get('risk_level'))}). "
        + (
            f"The UFLPA rebuttable presumption applies on the ground(s): "
            f"<b>{_e(', '.join(grounds))}</b>. "
            if grounds
            else "No presumption ground was found. "
        )
        + f"The assessment has {len(ctx.findings)} finding(s), {len(ctx.serious)} of them a "
        f"Xinjiang nexus, list match or supply-chain gap.</p>"
    )
    answer = (
        f"<p>This {_e(kind or 'package')} submits {len(ctx.exhibits)} exhibit(s) covering "
        f"{covered} of {len(chain_nodes)} supply-chain node(s). After re-assessment: "
        + ", ".join(f"{n} {STATUS_TITLES.get(s, s)}" for s, n in sorted(counts.items()))
        + ".</p>"
    )
    rows = []
    for finding in ctx.serious:
        status, _ = ctx.status(finding)
        node = ctx.by_path.get(node_of(str(finding.get("path"))))
        rows.append(
            f"<tr><td>{_severity_badge(str(finding.get('severity')))} "
            f"{_e(CATEGORY_TITLES[category_of(finding)])}<br/><span class='small'>"
            f"{_e(finding.get('code'))}</span></td>"
            f"<td>{_e(_node_name(node) if node else finding.get('path'))}<br/>"
            f"<span class='mono'>{_e(finding.get('path'))}</span></td>"
            f"<td>{_exhibit_refs(ctx.answering(finding))}</td>"
            f"<td>{_e(STATUS_TITLES.get(status or '', status or 'not reviewed'))}</td></tr>"
        )
    table = (
        "<h2>Findings and answers</h2><table>"
        + _head(("Finding", 26), ("Node", 40), ("Answered by", 20), ("Status", 14))
        + f"{''.join(rows)}</table>"
        if rows
        else "<p>No Xinjiang nexus, list match or gap findings.</p>"
    )
    narrative = (
        f"<h2>Importer's statement</h2><div class='narrative'>{_e(report.rebuttal.narrative)}</div>"
        if report.rebuttal is not None and report.rebuttal.narrative.strip()
        else ""
    )
    failed = [r for r in ctx.checks.results if not r.passed]
    untranslated = [e for e in ctx.exhibits if e.needs_translation]
    open_items = (
        [
            f"{len(ctx.uncovered)} supply-chain node(s) without any evidence "
            "(<a href='#nodes'>list</a>)"
        ]
        if ctx.uncovered
        else []
    )
    if untranslated:
        open_items.append(
            "exhibits without the English translation CBP asks for: "
            + ", ".join(
                f"<a href='#exhibit-{e.number}'>Exhibit {e.number}</a>" for e in untranslated
            )
        )
    if failed:
        open_items.append(
            f"{len(failed)} reviewer check(s) not passed: "
            + ", ".join(_e(r.title) for r in failed)
            + " (<a href='#checks'>details</a>)"
        )
    still_open = (
        "<h2>Still open</h2><ul>" + "".join(f"<li>{item}</li>" for item in open_items) + "</ul>"
        if open_items
        else "<h2>Still open</h2><p class='good'>Nothing: every check passed.</p>"
    )
    return f"<h1 id='summary'>Executive summary</h1>{opening}{answer}{table}{narrative}{still_open}"


def _map_section(maps: Sequence[MapImage]) -> str:
    intro = (
        "<h1 id='map'>Supply-chain flow chart</h1><p class='small'>Every line and declared "
        "input, tier by tier, from raw material (left) to the imported goods and the detained "
        "entry (right). Each box names the place, country and supplier of the node, its "
        "findings, and the exhibits that cover it; a dashed box has no evidence.</p>"
    )
    if not maps:
        return intro + "<p class='bad'>The chart could not be drawn.</p>"
    parts = []
    for index, image in enumerate(maps):
        width, height = _svg_size(image.svg)
        landscape = width > height
        # Page area left under the headings, in mm: fit the chart to it, keeping its shape.
        room_w, room_h = (270.0, 160.0) if landscape else (178.0, 225.0)
        scale = min(room_w / width, room_h / height, PT_IN_MM)  # never larger than drawn
        data = base64.b64encode(image.svg).decode()
        parts.append(
            f"<div class='{'map' if landscape else 'map-portrait'}'>"
            + (intro if index == 0 else "")
            + f"<h2>{_e(image.title)}</h2><img style='width:{width * scale:.1f}mm;"
            f"height:{height * scale:.1f}mm' src='data:image/svg+xml;base64,{data}'/></div>"
        )
    return "".join(parts)


def _exhibit_index(ctx: _Context) -> str:
    if not ctx.exhibits:
        return "<h1 id='exhibits'>Exhibit index</h1><p class='bad'>No exhibits attached.</p>"
    rows = []
    for e in ctx.exhibits:
        language = _e(e.language or "not stated")
        if e.needs_translation:
            language += " <span class='bad'>NO ENGLISH TRANSLATION</span>"
        elif e.is_foreign_language:
            language += " <span class='good'>translated</span>"
        covers = (
            "<br/>".join(
                f"{_e(_node_name(ctx.by_path[p]) if p in ctx.by_path else p)} "
                f"<span class='mono'>{_e(p)}</span>"
                for p in dict.fromkeys(node_of(c) for c in e.covers)
            )
            or "<span class='bad'>covers no node</span>"
        )
        files = "".join(
            f"<div>{_e(f.file_name)} ({_e(f.media_type)})<br/>SHA-256 "
            f"<span class='mono'>{_e(f.sha256)}</span></div>"
            for f in e.files
        )
        if e.translation is not None:
            files += (
                f"<div>English translation: {_e(e.translation.file_name)}<br/>SHA-256 "
                f"<span class='mono'>{_e(e.translation.sha256)}</span></div>"
            )
        rows.append(
            f"<tr id='exhibit-{e.number}'><td rowspan='2'><b>{e.number}</b></td>"
            f"<td>{_e(e.checklist_id)}</td><td>{_e(e.title)}</td><td>{_e(e.issuer or '—')}</td>"
            f"<td>{_date(e.issued_on)}</td><td>{language}</td></tr>"
            f"<tr><td colspan='3'>{files}</td><td colspan='2'>{covers}</td></tr>"
        )
    return (
        "<h1 id='exhibits'>Exhibit index</h1><p>Each exhibit is attached under its number "
        "(<i>Exhibit-NN_ID_title</i> in the ZIP). The SHA-256 identifies the exact file "
        "submitted.</p><table>"
        + _head(
            ("No.", 6),
            ("Checklist", 11),
            ("Title", 29),
            ("Issuer", 24),
            ("Date", 12),
            ("Language", 18),
        )
        + f"{''.join(rows)}</table>"
    )


def _findings_section(ctx: _Context) -> str:
    parts = ["<h1 id='findings'>Findings and how each is answered</h1>"]
    if not ctx.serious:
        parts.append("<p>No Xinjiang nexus, list match or supply-chain gap findings.</p>")
    for number, finding in enumerate(ctx.serious, start=1):
        status, reason = ctx.status(finding)
        node = ctx.by_path.get(node_of(str(finding.get("path"))))
        missing = ctx.missing_for(finding)
        missing_html = (
            "<ul>" + "".join(f"<li>{_e(m)}</li>" for m in missing) + "</ul>"
            if missing
            else "<span class='good'>nothing</span>"
        )
        parts.append(
            f"<div class='finding'><h3>F{number}. {_severity_badge(str(finding.get('severity')))}"
            f" {_e(CATEGORY_TITLES[category_of(finding)])}: {_e(finding.get('code'))}</h3>"
            f"<p><b>Node:</b> {_e(_node_name(node) if node else 'the entry')} "
            f"<span class='mono'>{_e(finding.get('path'))}</span><br/>"
            f"<b>Finding:</b> {_e(finding.get('message'))}<br/>"
            f"<b>Status after re-assessment:</b> "
            f"{_e(STATUS_TITLES.get(status or '', status or 'not reviewed'))}"
            f"{(' — ' + _e(reason)) if reason else ''}<br/>"
            f"<b>Answered by:</b> {_exhibit_refs(ctx.answering(finding))}</p>"
            f"<p><b>Still missing:</b> {missing_html}</p></div>"
        )
    if ctx.risks:
        grouped: dict[str, list[Mapping[str, Any]]] = {}
        for finding in ctx.risks:
            grouped.setdefault(str(finding.get("code")), []).append(finding)
        rows = "".join(
            f"<tr><td>{_severity_badge(str(items[0].get('severity')))} {_e(code)}</td>"
            f"<td class='mono'>{_e(', '.join(str(f.get('path')) for f in items))}</td>"
            f"<td>{_e(items[0].get('message'))}"
            f"{f' (and {len(items) - 1} more like it)' if len(items) > 1 else ''}</td></tr>"
            for code, items in grouped.items()
        )
        parts.append(
            "<h2>Risk factors</h2><p class='small'>Facts that raise risk (sector, origin "
            "country) but are not a nexus; documents answer them by tracing the node (see "
            "<a href='#nodes'>the nodes and their evidence</a>).</p><table>"
            + _head(("Factor", 24), ("Nodes", 46), ("Why", 30))
            + f"{rows}</table>"
        )
    missing_items = ctx.required_not_supplied()
    if missing_items:
        rows = "".join(
            f"<tr><td>{_e(i.get('id'))}</td><td>{_e(i.get('title'))}</td>"
            f"<td class='mono'>{_e(i.get('for'))}</td></tr>"
            for i in missing_items
        )
        parts.append(
            "<h2>Evidence asked for and not supplied</h2><table>"
            + _head(("Item", 10), ("Document", 66), ("For", 24))
            + f"{rows}</table>"
        )
    return "".join(parts)


def _nodes_section(ctx: _Context) -> str:
    rows = []
    for node in ctx.nodes:
        exhibits = ctx.covered[node.path]
        rows.append(
            f"<tr><td class='mono'>{_e(node.path)}</td><td>{_e(node.title)}"
            f"{'<br/>' + _e(node.place) if node.place else ''}</td>"
            f"<td>{_e(node.party or '—')}</td><td>{_exhibit_refs(exhibits)}</td></tr>"
        )
    uncovered = (
        "<h2>Nodes without evidence</h2><ul>"
        + "".join(
            f"<li><span class='mono'>{_e(n.path)}</span> {_e(_node_name(n))}</li>"
            for n in ctx.uncovered
        )
        + "</ul>"
        if ctx.uncovered
        else "<p class='good'>Every supply-chain node is covered by at least one exhibit.</p>"
    )
    return (
        "<h1 id='nodes'>Supply-chain nodes and their evidence</h1>"
        f"{uncovered}<h2>All nodes</h2><table>"
        + _head(("Path", 28), ("Node", 24), ("Supplier / manufacturer", 26), ("Evidence", 22))
        + f"{''.join(rows)}</table>"
    )


CONDITION_STATUS = {
    "for_reviewer": "nothing missing: for CBP to weigh",
    "incomplete": "incomplete",
}


def _conditions_section(ctx: _Context) -> str:
    """An exception request must satisfy all three conditions of §3(b); this shows each,
    what the package holds for it, and what is still missing, before the evidence."""
    rebuttal = ctx.report.rebuttal
    if rebuttal is None or not _is_exception_request(ctx.report):
        return ""
    rows = "".join(
        f"<tr><td>{_e(c.title)}</td>"
        f"<td class='{'check-pass' if c.status == 'for_reviewer' else 'check-fail'}'>"
        f"{_e(CONDITION_STATUS.get(c.status, c.status))}</td>"
        f"<td>{_e('; '.join(c.missing)) if c.missing else '—'}</td></tr>"
        for c in rebuttal.conditions
    )
    table = (
        "<table>"
        + _head(("Condition", 44), ("Completeness", 20), ("Missing", 36))
        + rows
        + "</table>"
        if rows
        else "<p>The completeness review of these conditions is not on record for this request.</p>"
    )
    return (
        f"<h1 id='{CONDITIONS_SECTION[0]}'>{_e(CONDITIONS_SECTION[1])}</h1>"
        "<p>The presumption does not apply only if the CBP Commissioner determines that the "
        "importer (1) fully complied with the guidance of UFLPA §2(d)(6) and any implementing "
        "regulations, (2) completely and substantively responded to all CBP requests for "
        "information, and (3) showed by clear and convincing evidence that the goods were not "
        "mined, produced or manufactured wholly or in part by forced labour. All three are "
        "required. If an exception is granted, CBP must publish a report and submit it to "
        "Congress within 30 days, identifying the goods and the evidence (§3(c)).</p>"
        + table
        + "<p class='small'>Completeness means only that an item of every required kind was "
        "supplied; whether the conditions are met is CBP's determination.</p>"
    )


def _checks_section(checks: ReviewerChecks) -> str:
    parts = ["<h1 id='checks'>Reviewer checks</h1>"]
    for result in checks.results:
        verdict = (
            "<span class='check-pass'>PASSED</span>"
            if result.passed
            else f"<span class='check-fail'>FAILED ({len(result.problems)})</span>"
        )
        problems = "".join(
            f"<tr><td class='mono'>{_e(p.subject)}</td><td>{_e(p.message)}</td></tr>"
            for p in result.problems
        )
        notes = "".join(f"<p class='small'>{_e(n)}</p>" for n in result.notes)
        parts.append(
            f"<h2>{_e(result.title)}: {verdict}</h2>"
            + (
                "<table>" + _head(("Where", 36), ("Problem", 64)) + f"{problems}</table>"
                if problems
                else ""
            )
            + notes
        )
    return "".join(parts)


def _appendix(ctx: _Context) -> str:
    a = ctx.report.assessment
    presumption = a.get("presumption", {})
    sanctions = a.get("sanctions", {})
    facts = [
        ("Recommendation", a.get("recommendation")),
        ("Risk score / level", f"{a.get('risk_score')} / {a.get('risk_level')}"),
        (
            "Presumption",
            f"{presumption.get('applies')} ({', '.join(presumption.get('grounds', []))})",
        ),
        ("Sanctions", f"{sanctions.get('applies')} ({', '.join(sanctions.get('lists', []))})"),
        ("Sectors", ", ".join(a.get("sectors", []))),
        ("Assessed at", a.get("assessed_at", "—")),
        ("Rules version", a.get("rules_version")),
        ("Matcher version", a.get("matcher_version")),
    ]
    lists = a.get("lists_version", {}) or {}
    rows = "".join(f"<tr><th>{_e(k)}</th><td class='mono'>{_e(v)}</td></tr>" for k, v in facts)
    list_rows = (
        "".join(
            f"<tr><th>{_e(name)}</th><td class='mono'>{_e(version)}</td></tr>"
            for name, version in sorted(lists.items())
        )
        or "<tr><td colspan='2'>no lists were loaded</td></tr>"
    )
    finding_rows = "".join(
        f"<tr><td>{_e(f.get('code'))}<br/>{_severity_badge(str(f.get('severity')))}</td>"
        f"<td class='mono'>{_e(f.get('path'))}</td><td>{_e(f.get('message'))}"
        + (
            # The evidence of a risk factor (a sector, a country) is already in its message.
            ""
            if category_of(f) is FindingCategory.RISK
            else "<br/><span class='mono'>"
            f"{_e(json.dumps(f.get('evidence', {}), ensure_ascii=False)[:600])}</span>"
        )
        + "</td></tr>"
        for f in ctx.findings
    )
    return (
        "<h1 id='appendix'>Appendix: assessment, rule and list versions</h1>"
        "<p class='small'>The assessment this package answers, with the versions that make it "
        "reproducible: the same manifest, rules and list versions give the same result.</p>"
        f"<table class='facts'>{rows}</table><h2>Entity and sanctions list versions</h2>"
        f"<table class='facts'>{list_rows}</table><h2>All findings</h2>"
        "<table>"
        + _head(("Code", 22), ("Path", 26), ("Message and evidence", 52))
        + f"{finding_rows}"
        "</table>"
    )


def package_html(
    report: ShipmentReport, maps: Sequence[MapImage], checks: ReviewerChecks | None = None
) -> str:
    """The whole package as one HTML document (pure)."""
    checks = checks or run_checks(report)
    ctx = _Context(report, checks)
    kind = report.rebuttal.kind if report.rebuttal is not None else "package"
    body = "".join(
        [
            _cover(ctx),
            _toc(_sections(report)),
            _summary(ctx),
            _conditions_section(ctx),
            _map_section(maps),
            _exhibit_index(ctx),
            _findings_section(ctx),
            _nodes_section(ctx),
            _checks_section(checks),
            _appendix(ctx),
        ]
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'/>"
        f"<title>{_e(report.shipment.reference)} {_e(kind)} package</title>"
        f"<meta name='author' content='{_e(report.shipment.importer)}'/>"
        f"<style>{_css(report)}</style></head><body>{body}</body></html>"
    )


def render_pdf(html: str) -> bytes:
    """Lay the HTML out as PDF with WeasyPrint (needs Debian's Pango and fonts-noto-cjk)."""
    try:
        # Imported on use: slow to import, and it loads Pango through cffi.
        from weasyprint import HTML  # type: ignore[import-untyped]
        from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]
    except OSError as exc:
        raise RendererUnavailable("the PDF renderer needs Pango (Debian libpango-1.0-0)") from exc
    # The document embeds its charts as data: URLs and needs nothing else: never let it
    # read a file or reach the network, whatever text ends up in it.
    fetcher = URLFetcher(allowed_protocols={"data"})
    pdf: bytes = HTML(string=html, url_fetcher=fetcher).write_pdf()
    return pdf


# A map with more lines than this is followed by one chart per line, readable when printed.
OVERVIEW_ONLY_UP_TO_LINES = 2


def package_maps(report: ShipmentReport) -> list[MapImage]:
    """The overview chart and, for larger shipments, one chart per line (Graphviz)."""
    from app.reports.supply_map import render, supply_map_dot

    maps = [MapImage("All lines", render(supply_map_dot(report), "svg"))]
    if len(report.manifest.lines) > OVERVIEW_ONLY_UP_TO_LINES:
        for index, line in enumerate(report.manifest.lines):
            svg = render(supply_map_dot(report, line_index=index), "svg")
            maps.append(MapImage(f"Line {line.line_number}: {line.description}", svg))
    return maps


def warm_up() -> None:
    """Import WeasyPrint and let it discover the fonts: seconds, once per process."""
    render_pdf("<p>warm-up</p>")


def build_package_pdf(report: ShipmentReport) -> bytes:
    """Maps, checks and layout in one call: what the package endpoint serves."""
    return render_pdf(package_html(report, package_maps(report), run_checks(report)))
