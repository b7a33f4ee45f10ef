"""Who is calling, and what they may see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    IMPORTER = "importer"
    BROKER = "broker"
    REVIEWER = "reviewer"
    AUDITOR = "auditor"
    ADMIN = "admin"


# Roles that read every importer's data (reviewers decide cases, auditors audit, admins run it).
ROLES_SEEING_ALL = frozenset({Role.REVIEWER, Role.AUDITOR, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: uuid.UUID
    key_prefix: str
    role: Role
    importer_ids: frozenset[uuid.UUID]
    importer_names: frozenset[str]
    importer_ids_by_name: tuple[tuple[str, uuid.UUID], ...] = ()

    def importer_id_for(self, name: str) -> uuid.UUID | None:
        return dict(self.importer_ids_by_name).get(name)

    @property
    def sees_all(self) -> bool:
        return self.role in ROLES_SEEING_ALL

    def can_see(self, importer_id: uuid.UUID) -> bool:
        return self.sees_all or importer_id in self.importer_ids


SYSTEM = Principal(
    key_id=uuid.UUID(int=0),
    key_prefix="system",
    role=Role.ADMIN,
    importer_ids=frozenset(),
    importer_names=frozenset(),
)
