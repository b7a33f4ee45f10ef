"""The scan memo: a repeated node gets the same answer a fresh scan gives, and every input
that can change the answer is part of the key."""

from __future__ import annotations

from app.domain.engine import scan_party
from app.domain.evidence import required_evidence
from app.domain.manifest import Party
from app.domain.memo import Memo
from app.domain.rules import RuleSet
from app.ruleset import load_ruleset
from tests.unit.domain.conftest import RULES_DIR


def test_memo_is_bounded_and_starts_over_when_full() -> None:
    memo: Memo[int] = Memo(3)
    for key in "abc":
        memo.put(key, ord(key))
    assert (memo.get("a"), len(memo)) == (97, 3)
    memo.put("d", 100)
    assert len(memo) == 1
    assert memo.get("a") is None and memo.get("d") == 100


PARTIES = [
    Party(name="Acme", address="Aksu"),  # ambiguous alone
    Party(name="Acme", address="Aksu", country="CN"),  # the country resolves it
    Party(name="Acme", address="Aksu", country="KZ"),  # a conflict suppresses it
    Party(name="Acme", address="Suite 4, 844000"),
    Party(name="Acme", address="Suite 4, 844000", country="CN"),
    Party(name="Acme", identifiers=(("uscc", "91652901MA77XXXX1A"),)),
    Party(name="Acme", identifiers=(("uscc", "91330782MA28XXXX1B"),)),
    Party(name="Acme", address="No Xinjiang cotton, Hanoi", country="VN"),
    Party(name="Acme", region="Aksu"),  # the same text in another field
]


def test_repeated_scans_match_fresh_ones(rules: RuleSet) -> None:
    """Scan every party twice on the shared rules (the second time from the memo) and once
    on freshly loaded rules: all three agree, party by party."""
    fresh = load_ruleset(RULES_DIR)
    for party in PARTIES:
        first = scan_party(party, rules)
        again = scan_party(party, rules)
        assert again is first  # served from the memo
        assert scan_party(party, fresh) == first, party


def test_country_field_and_identifiers_are_part_of_the_key(rules: RuleSet) -> None:
    scans = [scan_party(party, rules) for party in PARTIES]
    assert scans[0].ambiguous and not scans[0].nexus
    assert scans[1].nexus
    assert not scans[2].nexus and not scans[2].ambiguous
    assert not scans[3].nexus and scans[4].nexus
    assert scans[5].nexus and not scans[6].nexus
    assert scans[8] != scans[0]  # the hit names the field it came from


def test_repeated_evidence_lists_match_fresh_ones(rules: RuleSet) -> None:
    """The required-evidence memo answers exactly as freshly loaded rules do, and what
    decides the general items (presumption, risk level) and each line's sectors are all
    part of its key."""
    fresh = load_ruleset(RULES_DIR)
    cotton, solar = rules.sectors.sectors[0], rules.sectors.sectors[1]
    high = sorted(rules.evidence.high_risk_levels)[0]
    cases = [
        (True, "low", {0: [cotton]}),
        (False, "low", {0: [cotton]}),
        (False, high, {0: [cotton]}),
        (True, "low", {0: [cotton], 1: [cotton]}),
        (True, "low", {1: [cotton]}),
        (True, "low", {0: [cotton, solar]}),
        (True, "low", {}),
    ]
    answers = []
    for presumption, level, by_line in cases:
        first = required_evidence(rules.evidence, presumption, level, by_line)
        again = required_evidence(rules.evidence, presumption, level, by_line)
        assert again is first  # served from the memo
        fresh_sectors = {
            li: [fresh.sectors.sectors[rules.sectors.sectors.index(s)] for s in bucket]
            for li, bucket in by_line.items()
        }
        assert required_evidence(fresh.evidence, presumption, level, fresh_sectors) == first
        answers.append(first)
    assert len(set(answers)) == len(answers)  # every case is answered differently
