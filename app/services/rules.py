"""The active rule set: loaded from rules/, recorded in the database so it can be replayed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db.models import RuleSetRecord
from app.domain.rules import RuleSet
from app.ruleset.loader import load_ruleset, load_ruleset_from_documents


def load_and_record_rules(session: Session, rules_dir: Path) -> RuleSet:
    """Load and validate the rule files (refusing bad ones) and remember this version."""
    rules = load_ruleset(rules_dir)
    if session.get(RuleSetRecord, rules.version) is None:
        session.add(RuleSetRecord(version=rules.version, documents=dict(rules.documents)))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another worker recorded the same version first
    return rules


def recorded_rules(session: Session, version: str) -> RuleSet | None:
    """A rule set the service once ran with (for replay), or None if unknown."""
    record = session.get(RuleSetRecord, version)
    return None if record is None else load_ruleset_from_documents(record.documents)
