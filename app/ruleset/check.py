"""`python -m app.ruleset.check rules/`: validate a rule directory, print its version."""

from __future__ import annotations

import sys
from pathlib import Path

from app.errors import InvalidRules
from app.ruleset.loader import load_ruleset


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else Path("rules")
    try:
        rules = load_ruleset(path)
    except InvalidRules as exc:
        sys.stderr.write(f"invalid: {exc.detail}\n")
        return 1
    places = len(rules.public["regions"]["places"])
    sectors = len(rules.sectors.sectors)
    sys.stdout.write(f"ok {rules.version} ({places} places, {sectors} sectors)\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
