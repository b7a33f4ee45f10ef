"""Validating many manifests at once (batch items, CSV shipments), each on its own.

Shared by the batch and CSV import routes and by `uflpa screen`. An item that fails
validation becomes an `Invalid` carrying its problem object; the others go on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import ValidationError

from app.api.problems import validation_errors
from app.api.schemas.manifest import ManifestIn
from app.services.batch import Invalid, Item, validation_problem
from app.services.csv_manifests import CsvShipment, link_inputs, read_csv


def validate_item(raw: Any) -> dict[str, Any] | Invalid:
    """A batch item: the canonical manifest, or its 422 problem (fields as JSON paths)."""
    try:
        return ManifestIn.model_validate(raw).canonical()
    except ValidationError as exc:
        return Invalid(validation_problem(validation_errors(exc.errors())))


def _csv_shipment_item(shipment: CsvShipment) -> dict[str, Any] | Invalid:
    link_inputs(shipment)
    if shipment.errors:
        return Invalid(validation_problem(sorted(shipment.errors, key=lambda e: e["row"])))
    manifest = shipment.to_manifest()
    try:
        return ManifestIn.model_validate(manifest).canonical()
    except ValidationError as exc:
        errors = []
        for error in validation_errors(exc.errors()):  # fields as JSON paths, then cells
            path = error["field"]
            row, column = shipment.locate("" if path == "body" else path)
            errors.append({"row": row, "field": column, "reason": error["reason"]})
        return Invalid(validation_problem(sorted(errors, key=lambda e: e["row"])))


def csv_items(lines: Iterable[str]) -> Iterator[Item]:
    """Stream a CSV into items for submit_many (raises CsvFileError for a bad header)."""
    for found in read_csv(lines):
        if isinstance(found, CsvShipment):
            rows = [found.first_row, found.last_row or found.first_row]
            yield Item(_csv_shipment_item(found), {"reference": found.reference, "rows": rows})
        else:
            yield Item(
                Invalid(validation_problem(found["errors"])),
                {"reference": found["reference"], "rows": [found["row"], found["row"]]},
            )
