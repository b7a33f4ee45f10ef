"""API keys: created once, shown once, stored as a SHA-256 hash, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from app.db.base import table_of, utcnow
from app.db.models import ApiKey, ApiKeyImporter, Importer
from app.errors import NotFound, Unauthorized, Unprocessable
from app.services.principal import Principal, Role

KEY_PREFIX = "uflpa"


def key_digest(key: str) -> str:
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
    row = ApiKey(key_prefix=public, key_hash=key_digest(plaintext), role=role.value, label=label)
    row.importers = [get_or_create_importer(session, n) for n in names]
    session.add(row)
    session.commit()
    return _info(row), plaintext


def list_keys(session: Session) -> list[KeyInfo]:
    return [_info(r) for r in session.scalars(select(ApiKey).order_by(ApiKey.created_at)).unique()]


def revoke_key(session: Session, key_id: str) -> KeyInfo:
    row = session.scalars(select(ApiKey).where(ApiKey.key_prefix == key_id)).unique().one_or_none()
    if row is None:
        raise NotFound(f"no key {key_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.commit()
    return _info(row)


_KEYS = table_of(ApiKey)
_KEY_IMPORTERS = table_of(ApiKeyImporter)
_IMPORTERS = table_of(Importer)
# A Core statement built once: authentication runs on every request, and the ORM's
# per-query compile and identity-map work cost more than the query itself.
_KEY_LOOKUP = (
    select(
        _KEYS.c.id,
        _KEYS.c.key_hash,
        _KEYS.c.role,
        _KEYS.c.revoked_at,
        _IMPORTERS.c.id.label("importer_id"),
        _IMPORTERS.c.name.label("importer_name"),
    )
    .select_from(
        _KEYS.outerjoin(_KEY_IMPORTERS, _KEY_IMPORTERS.c.api_key_id == _KEYS.c.id).outerjoin(
            _IMPORTERS, _IMPORTERS.c.id == _KEY_IMPORTERS.c.importer_id
        )
    )
    .where(_KEYS.c.key_prefix == bindparam("prefix"))
)


def authenticate(session: Session, presented: str) -> Principal:
    public = _split(presented)
    rows = (
        []
        if public is None
        else session.connection().execute(_KEY_LOOKUP, {"prefix": public}).all()
    )
    # Compare even when no row matched, so timing does not reveal which key ids exist.
    expected = rows[0].key_hash if rows else key_digest("no-such-key")
    valid = hmac.compare_digest(key_digest(presented), expected)
    if public is None or not rows or not valid or rows[0].revoked_at is not None:
        raise Unauthorized("the API key is missing, unknown or revoked")
    importers = sorted(
        (row.importer_name, row.importer_id) for row in rows if row.importer_id is not None
    )
    return Principal(
        key_id=rows[0].id,
        key_prefix=public,
        role=Role(rows[0].role),
        importer_ids=frozenset(ident for _, ident in importers),
        importer_names=frozenset(name for name, _ in importers),
        importer_ids_by_name=tuple(importers),
    )
