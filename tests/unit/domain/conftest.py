from __future__ import annotations

from pathlib import Path

import pytest

from app.domain.rules import RuleSet
from app.ruleset import load_ruleset

RULES_DIR = Path(__file__).resolve().parents[3] / "rules"


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    return load_ruleset(RULES_DIR)
