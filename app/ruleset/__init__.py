"""Loads rules/*.yaml into validated, hashed domain rule objects; refuses bad rules."""

from app.ruleset.loader import RULE_FILES, load_ruleset, load_ruleset_from_documents

__all__ = ["RULE_FILES", "load_ruleset", "load_ruleset_from_documents"]
