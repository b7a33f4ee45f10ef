"""All tables. One module per area; each is imported here so Alembic sees every table."""

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
    "ApiKey",
    "ApiKeyImporter",
    "Assessment",
    "AssessmentCitation",
    "Decision",
    "Importer",
    "Job",
    "ListEntryRecord",
    "ListVersion",
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
