"""All tables. One module per area; each is imported here so Alembic sees every table."""

from app.db.models.audit import DECISION_AUDIT_INDEXES
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
from app.db.models.integrations import (
    AssessmentCitation,
    Job,
    OutboxEvent,
    Webhook,
    WebhookDelivery,
    WebhookImporter,
)

__all__ = [
    "DECISION_AUDIT_INDEXES",
    "ApiKey",
    "ApiKeyImporter",
    "Assessment",
    "Case",
    "AssessmentCitation",
    "Decision",
    "Determination",
    "Document",
    "Importer",
    "Job",
    "ListEntryRecord",
    "ListVersion",
    "Rebuttal",
    "RebuttalDocument",
    "OutboxEvent",
    "RuleSetRecord",
    "Shipment",
    "ShipmentInput",
    "ShipmentLine",
    "ShipmentParty",
    "Webhook",
    "WebhookDelivery",
    "WebhookImporter",
]
