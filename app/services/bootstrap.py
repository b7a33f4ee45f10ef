"""Start-up: the rule set and the list index the service assesses with."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.services.assessor import Assessor
from app.services.rules import load_and_record_rules
from app.settings import Settings


def prepare_database(session: Session, settings: Settings) -> None:
    """One-time work for a new database: record the rule set (lists join later)."""
    load_and_record_rules(session, settings.rules_dir)


def build_assessor(session: Session, settings: Settings) -> Assessor:
    rules = load_and_record_rules(session, settings.rules_dir)
    return Assessor(rules=rules)
