"""The supply-chain map: a node for every path, colours by finding, uncovered nodes dashed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from app.reports.chain import ENTRY, FindingCategory, supply_nodes
from app.reports.supply_map import CATEGORY_FILL, render, supply_map_dot, with_dpi, wrap
from tests.reports.builders import COTTON_UNCOVERED, SPINNER, cotton_report, large_report
from tests.reports.conftest import needs_dot

SVG = "{http://www.w3.org/2000/svg}"
XUAR_NODE = "lines[0].inputs[0].inputs[0].inputs[0]"
LIST_NODE = "lines[1].inputs[0]"
GAP_NODE = "lines[0].inputs[1]"


def dot_nodes(source: str) -> dict[str, str]:
    """Node name -> its attribute text, from the DOT source."""
    nodes: dict[str, str] = {}
    statement = re.compile(r'^\t("[^"]*"|\w+) \[(.*?)\]\n(?=\t|\})', re.M | re.S)
    for match in statement.finditer(source):
        name = match.group(1).strip('"')
        if name not in ("node", "edge", "graph"):
            nodes[name] = match.group(2).replace("<BR/>", " ")  # undo label wrapping
    return nodes


def test_dot_has_a_node_for_every_line_and_input_and_the_entry() -> None:
    report = cotton_report()
    nodes = dot_nodes(supply_map_dot(report))
    expected = {node.path for node in supply_nodes(report.manifest)}
    assert set(nodes) == expected
    assert ENTRY in expected and XUAR_NODE in expected and "lines[1]" in expected


def test_dot_colours_nodes_by_the_kind_of_finding() -> None:
    nodes = dot_nodes(supply_map_dot(cotton_report()))
    assert f'fillcolor="{CATEGORY_FILL[FindingCategory.XINJIANG]}"' in nodes[XUAR_NODE]
    assert 'color="#b2182b"' in nodes[XUAR_NODE]  # critical border
    assert f'fillcolor="{CATEGORY_FILL[FindingCategory.LIST_MATCH]}"' in nodes[LIST_NODE]
    assert f'fillcolor="{CATEGORY_FILL[FindingCategory.GAP]}"' in nodes[GAP_NODE]
    # Only risk factors (sector, origin): white.
    assert 'fillcolor="#ffffff"' in nodes["lines[0]"]
    assert "CRITICAL Xinjiang nexus: XUAR_PLACE" in nodes[XUAR_NODE]
    assert "List match: ENTITY_LIST_POSSIBLE_MATCH (supplier)" in nodes[LIST_NODE]


def test_dot_marks_uncovered_nodes_and_names_covering_exhibits() -> None:
    nodes = dot_nodes(supply_map_dot(cotton_report()))
    for path, attrs in nodes.items():
        uncovered = path in COTTON_UNCOVERED
        assert ("dashed" in attrs) is uncovered, path
        assert ("NO EVIDENCE" in attrs) is uncovered, path
    yarn = nodes["lines[0].inputs[0].inputs[0]"]
    assert "Evidence: Ex. 5 CT-04, Ex. 6 CT-08" in yarn
    assert SPINNER in yarn  # the supplier's Chinese name, as declared


def test_dot_for_one_line_keeps_only_that_line_and_the_entry() -> None:
    nodes = dot_nodes(supply_map_dot(cotton_report(), line_index=1))
    assert set(nodes) == {
        ENTRY,
        "lines[1]",
        "lines[1].inputs[0]",
        "lines[1].inputs[0].inputs[0]",
        "lines[1].inputs[0].inputs[0].inputs[0]",
    }


def test_labels_are_escaped() -> None:
    report = cotton_report()
    hostile = report.shipment.__class__(
        report.shipment.shipment_id, "<b>&", "Acme <script>", "detained"
    )
    manifest = report.manifest.__class__(
        reference="R&D <1>", importer="Acme <script>", lines=report.manifest.lines
    )
    source = supply_map_dot(cotton_report(shipment=hostile, manifest=manifest))
    assert "<script>" not in source and "Acme &lt;script&gt;" in source
    assert "R&amp;D &lt;1&gt;" in source


def test_wrap_counts_chinese_characters_double() -> None:
    lines = wrap(f"Supplier: {SPINNER} (江苏省无锡市新吴区长江路88号, CN)", 20)
    assert all(sum(2 if ord(c) > 0x2E80 else 1 for c in line) <= 20 for line in lines)
    assert "".join(lines).replace(" ", "") == f"Supplier:{SPINNER}(江苏省无锡市新吴区长江路88号,CN)"


def svg_nodes(svg: bytes) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)
    out: dict[str, ET.Element] = {}
    for group in root.iter(f"{SVG}g"):
        if "node" in (group.get("class") or "").split():
            title = group.find(f"{SVG}title")
            assert title is not None and title.text is not None
            out[title.text] = group
    return out


@needs_dot
def test_svg_structure(artifacts: Path) -> None:
    report = cotton_report()
    svg = render(supply_map_dot(report), "svg")
    (artifacts / "cotton-map.svg").write_bytes(svg)
    nodes = svg_nodes(svg)
    assert set(nodes) == {node.path for node in supply_nodes(report.manifest)}
    for path, group in nodes.items():
        classes = set((group.get("class") or "").split())
        shape = next(group.iter(f"{SVG}path"), None)
        assert shape is not None
        dashed = shape.get("stroke-dasharray") is not None
        assert dashed is (path in COTTON_UNCOVERED), path
        assert ("uncovered" in classes) is (path in COTTON_UNCOVERED), path
    xuar = nodes[XUAR_NODE]
    assert "category-xinjiang" in (xuar.get("class") or "")
    assert "severity-critical" in (xuar.get("class") or "")
    shape = next(xuar.iter(f"{SVG}path"), None)
    assert shape is not None and shape.get("fill") == CATEGORY_FILL[FindingCategory.XINJIANG]
    texts = "".join(t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text"))
    assert SPINNER in texts and "Legend" in texts and "no evidence" in texts


@needs_dot
def test_large_map_five_lines_four_tiers_three_inputs(artifacts: Path) -> None:
    report = large_report()
    source = supply_map_dot(report)
    svg = render(source, "svg")
    nodes = svg_nodes(svg)
    assert len(nodes) == 1 + 5 + 5 * 4 * 3
    assert set(nodes) == {node.path for node in supply_nodes(report.manifest)}
    png = render(with_dpi(source, 72), "png")
    assert png.startswith(b"\x89PNG")
    (artifacts / "large-map.png").write_bytes(png)
    # Left to right: raw material (tier 4) left of tier 1, tier 1 left of the line.
    width = int(float(ET.fromstring(svg).get("width", "0pt").removesuffix("pt")))
    assert width > 0


@needs_dot
def test_map_png_for_people(artifacts: Path) -> None:
    png = render(with_dpi(supply_map_dot(cotton_report()), 96), "png")
    (artifacts / "cotton-map.png").write_bytes(png)
    assert png.startswith(b"\x89PNG")
