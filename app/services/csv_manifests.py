"""Flat CSV files -> manifests: one row per line item (plus rows for supply-chain inputs).

Rows are grouped into shipments by `reference` (in order of first appearance) and into lines
by `line_number`. Supply-chain inputs are rows with an `input_path`: `1` is a line's first
input, `1.2` the second input of that input (tier 2), and so on; a path's parent must be in
the file too. Shipment and line columns may be repeated on every row of their shipment or
line, or left blank after the first; a different value is an error. Every error names the
row (the header is row 1, as a spreadsheet shows it) and the column. See
docs/integrations.md for the column reference.

Pure: no database, no HTTP. Validation of the resulting manifests against the manifest
contract happens where the contract lives (app/api/schemas/manifest.py); `locate()` maps a
manifest JSON path back to the row and column it came from.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

SHIPMENT_COLUMNS = ("importer", "entry_date", "country_of_origin", "country_of_export")
# column -> manifest field, per node kind
LINE_COLUMNS = {
    "hts_code": "hts_code",
    "description": "description",
    "quantity": "quantity",
    "unit": "unit",
    "value": "value",
    "currency": "currency",
    "line_country_of_origin": "country_of_origin",
    "line_region": "region",
}
MANUFACTURER_COLUMNS = {
    "manufacturer_name": "name",
    "manufacturer_address": "address",
    "manufacturer_country": "country",
}
INPUT_COLUMNS = {
    "material": "material",
    "input_hts_code": "hts_code",
    "input_country_of_origin": "country_of_origin",
    "input_region": "region",
    "input_quantity": "quantity",
    "input_unit": "unit",
}
SUPPLIER_COLUMNS = {
    "supplier_name": "name",
    "supplier_address": "address",
    "supplier_country": "country",
}
PARTY_COLUMNS = {
    "party_role": "role",
    "party_name": "name",
    "party_address": "address",
    "party_country": "country",
}
NUMBER_COLUMNS = frozenset({"quantity", "value", "input_quantity"})
REQUIRED_COLUMNS = ("reference", "importer", "line_number", "hts_code", "description")
KNOWN_COLUMNS = frozenset(
    ("reference", "line_number", "input_path", *SHIPMENT_COLUMNS)
    + tuple(LINE_COLUMNS)
    + tuple(MANUFACTURER_COLUMNS)
    + tuple(INPUT_COLUMNS)
    + tuple(SUPPLIER_COLUMNS)
    + tuple(PARTY_COLUMNS)
)
_INPUT_PATH = re.compile(r"^[1-9][0-9]{0,2}(\.[1-9][0-9]{0,2}){0,9}$")
MAX_CELL = 4000


class CsvFileError(ValueError):
    """The file as a whole cannot be read (encoding, header): nothing is imported."""

    def __init__(self, reason: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors = errors


@dataclass
class _Node:
    row: int
    values: dict[str, Any]
    columns: dict[str, str]  # manifest field -> CSV column, for error locations
    children: dict[int, _Node] = field(default_factory=dict)
    supplier: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Line:
    row: int
    number: int
    values: dict[str, Any] = field(default_factory=dict)
    value_rows: dict[str, int] = field(default_factory=dict)
    manufacturer: dict[str, Any] = field(default_factory=dict)
    inputs: dict[tuple[int, ...], _Node] = field(default_factory=dict)


@dataclass
class CsvShipment:
    """One shipment's rows, turned into a manifest dict (or row errors)."""

    reference: str
    first_row: int
    last_row: int = 0
    header: dict[str, str] = field(default_factory=dict)
    header_rows: dict[str, int] = field(default_factory=dict)
    parties: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    lines: dict[int, _Line] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    # manifest JSON path -> (row, column or None): filled by to_manifest()
    locations: dict[str, tuple[int, str | None]] = field(default_factory=dict)

    def error(self, row: int, column: str, reason: str) -> None:
        self.errors.append({"row": row, "field": column, "reason": reason})

    def to_manifest(self) -> dict[str, Any]:
        manifest: dict[str, Any] = {"reference": self.reference, **self.header}
        self.locations[""] = (self.first_row, None)
        for name in manifest:
            self.locations[name] = (self.header_rows.get(name, self.first_row), name)
        if self.parties:
            manifest["parties"] = []
            for i, (row, party) in enumerate(self.parties):
                manifest["parties"].append(party)
                self.locations[f"parties[{i}]"] = (row, None)
                for column, name in PARTY_COLUMNS.items():
                    self.locations[f"parties[{i}].{name}"] = (row, column)
        lines: list[dict[str, Any]] = []
        for li, line in enumerate(self.lines.values()):
            out: dict[str, Any] = {"line_number": line.number, **line.values}
            base = f"lines[{li}]"
            self.locations[base] = (line.row, None)
            self.locations[f"{base}.line_number"] = (line.row, "line_number")
            for column, name in LINE_COLUMNS.items():
                self.locations[f"{base}.{name}"] = (line.value_rows.get(name, line.row), column)
            if line.manufacturer:
                out["manufacturer"] = dict(line.manufacturer)
                self.locations[f"{base}.manufacturer"] = (line.row, None)
                for column, name in MANUFACTURER_COLUMNS.items():
                    self.locations[f"{base}.manufacturer.{name}"] = (line.row, column)
            roots = {p[0]: n for p, n in line.inputs.items() if len(p) == 1}
            if roots:
                out["inputs"] = self._inputs(roots, f"{base}.inputs")
            lines.append(out)
        manifest["lines"] = lines
        return manifest

    def _inputs(self, nodes: dict[int, _Node], base: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for i, position in enumerate(sorted(nodes)):
            node = nodes[position]
            path = f"{base}[{i}]"
            item: dict[str, Any] = dict(node.values)
            self.locations[path] = (node.row, "input_path")
            for name, column in node.columns.items():
                self.locations[f"{path}.{name}"] = (node.row, column)
            if node.supplier:
                item["supplier"] = dict(node.supplier)
                self.locations[f"{path}.supplier"] = (node.row, None)
                for column, name in SUPPLIER_COLUMNS.items():
                    self.locations[f"{path}.supplier.{name}"] = (node.row, column)
            if node.children:
                item["inputs"] = self._inputs(node.children, f"{path}.inputs")
            out.append(item)
        return out

    def locate(self, path: str) -> tuple[int, str]:
        """The row and column a manifest JSON path (e.g. lines[0].inputs[1].hts_code) came
        from: the longest known prefix wins; an unmapped remainder is named as the field."""
        probe = path
        while True:
            found = self.locations.get(probe)
            if found is not None:
                row, column = found
                rest = path[len(probe) :].lstrip(".")
                if column is None:
                    return row, rest or path or "row"
                return row, column if not rest else f"{column}.{rest}"
            if not probe:
                return self.first_row, path or "row"
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[: max(cut, 0)]


def _cell(row: dict[str, str], column: str) -> str:
    value = row.get(column)
    return "" if value is None else value.strip()


def _number(shipment: CsvShipment, row_no: int, column: str, text: str) -> float | None:
    try:
        value = float(text.replace(",", "")) if text else None
    except ValueError:
        shipment.error(row_no, column, f"'{text[:40]}' is not a number")
        return None
    return value


def _merge(
    shipment: CsvShipment,
    row_no: int,
    column: str,
    target: dict[str, Any],
    name: str,
    value: Any,
    rows: dict[str, int] | None = None,
    first_row: int = 0,
) -> None:
    """Set target[name] = value; a different value already set is an error."""
    if value is None or value == "":
        return
    current = target.get(name)
    if current is None:
        target[name] = value
        if rows is not None:
            rows[name] = row_no
    elif current != value:
        where = (rows or {}).get(name, first_row)
        shipment.error(row_no, column, f"'{value}' conflicts with '{current}' given in row {where}")


def read_csv(
    lines: Iterable[str],
) -> Iterator[CsvShipment | dict[str, Any]]:
    """Stream a CSV (text lines) into shipments.

    Yields, once the file is read (rows of one reference may be anywhere in it), a
    CsvShipment per reference and a dict problem for each row that belongs to none, in
    order of first appearance. Raises CsvFileError when the header is unusable.
    """
    reader = csv.DictReader(lines)
    try:
        header = reader.fieldnames
    except (csv.Error, UnicodeDecodeError) as exc:
        raise CsvFileError(
            "the file is not a readable UTF-8 CSV",
            [{"row": 1, "field": "header", "reason": str(exc)[:200]}],
        ) from exc
    if not header:
        raise CsvFileError("the file is empty", [{"row": 1, "field": "header", "reason": "empty"}])
    columns = [h.strip().lower() for h in header]
    reader.fieldnames = columns
    errors = [
        {"row": 1, "field": c or "(blank)", "reason": "unknown column"}
        for c in columns
        if c not in KNOWN_COLUMNS
    ]
    errors += [
        {"row": 1, "field": c, "reason": "required column missing"}
        for c in REQUIRED_COLUMNS
        if c not in columns
    ]
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    errors += [{"row": 1, "field": c, "reason": "column appears twice"} for c in duplicated]
    if errors:
        raise CsvFileError("the header is not valid", errors)

    shipments: dict[str, CsvShipment] = {}
    items: list[CsvShipment | dict[str, Any]] = []  # in order of first appearance
    row_no = 1
    try:
        for raw in reader:
            row_no += 1
            if None in raw:
                extra = CsvShipment(reference="", first_row=row_no)
                reference = _cell(raw, "reference")
                target = shipments.get(reference) if reference else None
                (target or extra).error(row_no, "row", "more cells than header columns")
                if target is None:
                    items.append(
                        {"row": row_no, "reference": reference or None, "errors": extra.errors}
                    )
                continue
            if not any((v or "").strip() for v in raw.values()):
                continue  # blank line
            too_long = [c for c, v in raw.items() if v is not None and len(v) > MAX_CELL]
            reference = _cell(raw, "reference")
            if not reference:
                items.append(
                    {
                        "row": row_no,
                        "reference": None,
                        "errors": [{"row": row_no, "field": "reference", "reason": "required"}],
                    }
                )
                continue
            shipment = shipments.get(reference)
            if shipment is None:
                shipment = shipments[reference] = CsvShipment(reference, first_row=row_no)
                items.append(shipment)
            shipment.last_row = row_no
            for column in too_long:
                shipment.error(row_no, column, f"longer than {MAX_CELL} characters")
            if not too_long:
                _read_row(shipment, row_no, raw)
    except (csv.Error, UnicodeDecodeError) as exc:
        raise CsvFileError(
            f"the file could not be read past row {row_no}",
            [{"row": row_no + 1, "field": "row", "reason": str(exc)[:200]}],
        ) from exc
    yield from items


def _read_row(shipment: CsvShipment, row_no: int, raw: dict[str, str]) -> None:
    for column in SHIPMENT_COLUMNS:
        _merge(
            shipment, row_no, column, shipment.header, column, _cell(raw, column),
            shipment.header_rows, shipment.first_row,
        )  # fmt: skip
    party = {
        name: _cell(raw, column) for column, name in PARTY_COLUMNS.items() if _cell(raw, column)
    }
    if party:
        if "name" not in party:
            shipment.error(row_no, "party_name", "required when other party columns are given")
        else:
            shipment.parties.append((row_no, party))

    number_text = _cell(raw, "line_number")
    line_data = any(_cell(raw, c) for c in (*LINE_COLUMNS, *MANUFACTURER_COLUMNS, "input_path"))
    if not number_text:
        if line_data or not party:
            shipment.error(row_no, "line_number", "required")
        return
    try:
        number = int(number_text)
    except ValueError:
        shipment.error(row_no, "line_number", f"'{number_text[:20]}' is not a whole number")
        return
    line = shipment.lines.get(number)
    if line is None:
        line = shipment.lines[number] = _Line(row=row_no, number=number)
    for column, name in LINE_COLUMNS.items():
        text = _cell(raw, column)
        value: Any = _number(shipment, row_no, column, text) if column in NUMBER_COLUMNS else text
        _merge(shipment, row_no, column, line.values, name, value, line.value_rows, line.row)
    for column, name in MANUFACTURER_COLUMNS.items():
        _merge(
            shipment, row_no, column, line.manufacturer, name, _cell(raw, column), None, line.row
        )

    path_text = _cell(raw, "input_path")
    input_data = [c for c in (*INPUT_COLUMNS, *SUPPLIER_COLUMNS) if _cell(raw, c)]
    if not path_text:
        if input_data:
            shipment.error(row_no, "input_path", f"required when {input_data[0]} is given")
        return
    if not _INPUT_PATH.match(path_text):
        shipment.error(
            row_no, "input_path", f"'{path_text[:30]}' is not a tier path like 1, 1.2 or 1.2.1"
        )
        return
    path = tuple(int(p) for p in path_text.split("."))
    if path in line.inputs:
        first = line.inputs[path].row
        shipment.error(
            row_no, "input_path", f"input {path_text} of line {number} is already row {first}"
        )
        return
    values: dict[str, Any] = {}
    used: dict[str, str] = {}
    for column, name in INPUT_COLUMNS.items():
        text = _cell(raw, column)
        if not text:
            continue
        values[name] = _number(shipment, row_no, column, text) if column in NUMBER_COLUMNS else text
        used[name] = column
    supplier = {name: _cell(raw, c) for c, name in SUPPLIER_COLUMNS.items() if _cell(raw, c)}
    if supplier and "name" not in supplier:
        shipment.error(row_no, "supplier_name", "required when other supplier columns are given")
        supplier = {}
    line.inputs[path] = _Node(row=row_no, values=values, columns=used, supplier=supplier)


def link_inputs(shipment: CsvShipment) -> None:
    """Attach every input to its parent; a missing parent is an error on the child's row."""
    for line in shipment.lines.values():
        for path in sorted(line.inputs, key=len):
            if len(path) == 1:
                continue
            parent = line.inputs.get(path[:-1])
            node = line.inputs[path]
            if parent is None:
                shown = ".".join(map(str, path[:-1]))
                shipment.error(
                    node.row,
                    "input_path",
                    f"parent input {shown} of line {line.number} is not in the file",
                )
                continue
            parent.children[path[-1]] = node
