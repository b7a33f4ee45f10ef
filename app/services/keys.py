"""API keys: created once, shown once, stored as a SHA-256 hash, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.models import ApiKey, Importer
from app.errors import NotFound, Unauthorized, Unprocessable
from app.services.principal import Principal, Role

KEY_PREFIX = "uflpa"


def _hash(key: str) -> str:
    # Keys carry 256 bits of randomness, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


def _split(key: str) -> str | None:
    """Return the public key id part of `uflpa_<id>_<secret>`, or None if malformed."""
    parts = key.split("_")
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 12:
        return None
    return f"{parts[0]}_{parts[1]}"


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    role: str
    label: str | None
    importers: list[str]
    created_at: datetime
    revoked_at: datetime | None


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(
        key_id=row.key_prefix,
        role=row.role,
        label=row.label,
        importers=sorted(i.name for i in row.importers),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def get_or_create_importer(session: Session, name: str) -> Importer:
    importer = session.scalar(select(Importer).where(Importer.name == name))
    if importer is None:
        importer = Importer(name=name)
        session.add(importer)
        session.flush()
    return importer


def create_key(
    session: Session, role: Role, importer_names: list[str], label: str | None = None
) -> tuple[KeyInfo, str]:
    """Create a key; returns its info and the plaintext key (never stored)."""
    names = sorted({n.strip() for n in importer_names if n.strip()})
    if role is Role.IMPORTER and len(names) != 1:
        raise Unprocessable("an importer key is bound to exactly one importer (--importer NAME)")
    if role is Role.BROKER and not names:
        raise Unprocessable("a broker key acts for at least one importer (--importer NAME ...)")
    if role not in (Role.IMPORTER, Role.BROKER) and names:
        raise Unprocessable(f"a {role.value} key is not bound to importers")
    public = f"{KEY_PREFIX}_{secrets.token_hex(6)}"
    plaintext = f"{public}_{secrets.token_urlsafe(32).replace('_', '-')}"
    row = ApiKey(key_prefix=public, key_hash=_hash(plaintext), role=role.value, label=label)
    row.importers = [get_or_create_importer(session, n) for n in names]
    session.add(row)
    session.commit()
    return _info(row), plaintext


def list_keys(session: Session) -> list[KeyInfo]:
    return [_info(r) for r in session.scalars(select(ApiKey).order_by(ApiKey.created_at))]


def revoke_key(session: Session, key_id: str) -> KeyInfo:
    row = session.scalar(select(ApiKey).where(ApiKey.key_prefix == key_id))
    if row is None:
        raise NotFound(f"no key {key_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.commit()
    return _info(row)


def authenticate(session: Session, presented: str) -> Principal:
    public = _split(presented)
    row = (
        None
        if public is None
        else session.scalar(select(ApiKey).where(ApiKey.key_prefix == public))
    )
    # Compare even when no row matched, so timing does not reveal which key ids exist.
    expected = row.key_hash if row is not None else _hash("no-such-key")
    valid = hmac.compare_digest(_hash(presented), expected)
    if row is None or not valid or row.revoked_at is not None:
        raise Unauthorized("the API key is missing, unknown or revoked")
    return Principal(
        key_id=row.id,
        key_prefix=row.key_prefix,
        role=Role(row.role),
        importer_ids=frozenset(i.id for i in row.importers),
        importer_names=frozenset(i.name for i in row.importers),
        importer_ids_by_name=tuple(sorted((i.name, i.id) for i in row.importers)),
    )
