"""Stable finding codes. Clients and the decision log key on these; never rename one.

Every code needs a weight and severity in rules/scoring.yaml (the loader checks it).
"""

from __future__ import annotations

from enum import StrEnum


class FindingCode(StrEnum):
    # Presumption grounds
    XUAR_PLACE = "XUAR_PLACE"  # Xinjiang place or region name (or an XPCC unit's location)
    XUAR_POSTCODE = "XUAR_POSTCODE"  # CN postcode 83xxxx / 84xxxx
    XUAR_REGISTRATION = "XUAR_REGISTRATION"  # USCC / admin code registered in 65xxxx
    XPCC_UNIT = "XPCC_UNIT"  # XPCC division, regiment or named unit: on the Entity List
    ENTITY_LIST_MATCH = "ENTITY_LIST_MATCH"  # strong UFLPA Entity List match
    # Sanctions ground
    SANCTIONS_MATCH = "SANCTIONS_MATCH"
    # Risk amplifiers
    RESTRICTED_PARTY_MATCH = "RESTRICTED_PARTY_MATCH"
    ENTITY_LIST_POSSIBLE_MATCH = "ENTITY_LIST_POSSIBLE_MATCH"
    SANCTIONS_POSSIBLE_MATCH = "SANCTIONS_POSSIBLE_MATCH"
    RESTRICTED_PARTY_POSSIBLE_MATCH = "RESTRICTED_PARTY_POSSIBLE_MATCH"
    XUAR_AMBIGUOUS_PLACE = "XUAR_AMBIGUOUS_PLACE"
    SUPPLY_CHAIN_GAP = "SUPPLY_CHAIN_GAP"
    HIGH_PRIORITY_SECTOR = "HIGH_PRIORITY_SECTOR"
    ENFORCEMENT_SECTOR = "ENFORCEMENT_SECTOR"
    ORIGIN_CHINA = "ORIGIN_CHINA"
    ORIGIN_TRANSSHIPMENT = "ORIGIN_TRANSSHIPMENT"


FINDING_CODES: frozenset[str] = frozenset(code.value for code in FindingCode)
