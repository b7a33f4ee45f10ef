"""All tables. One module per area; each is imported here so Alembic sees every table."""

from app.db.models.cases import Case, Determination, Document, Rebuttal, RebuttalDocument
from app.db.models.core import (
    ApiKey,
    ApiKeyImporter,
    Assessment,
    Decision,
    Importer,
    ListEntryRecord,
    ListVersion,
    RuleSetRecord,
    Shipment,
    ShipmentInput,
    ShipmentLine,
    ShipmentParty,
)

__all__ = [
    "ApiKey",
    "ApiKeyImporter",
    "Assessment",
    "Case",
    "Decision",
    "Determination",
    "Document",
    "Importer",
    "ListEntryRecord",
    "ListVersion",
    "Rebuttal",
    "RebuttalDocument",
    "RuleSetRecord",
    "Shipment",
    "ShipmentInput",
    "ShipmentLine",
    "ShipmentParty",
]
