"""API keys and token-signing secrets as stored (table ``credentials``): created, listed and
revoked while the service runs; a key is shown once and kept as its SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa

from homefeed.store.schema import credentials

KINDS = ("admin", "client", "signing")


@dataclass(frozen=True)
class Credential:
    id: str
    kind: str
    secret: str  # a key's SHA-256 hex digest, or a signing secret
    label: str
    created_at: float
    revoked_at: float | None


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create(engine: sa.Engine, kind: str, label: str = "") -> tuple[str, str]:
    """A new key of ``kind`` (admin or client), or a new signing secret (signing): returns its
    id and, for a key, the key itself (shown this once; only its hash is kept)."""
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {list(KINDS)}, got {kind!r}")
    credential_id = secrets.token_hex(6)
    plain = secrets.token_urlsafe(32)
    stored = plain if kind == "signing" else digest(plain)
    row = {"id": credential_id, "kind": kind, "secret": stored, "label": label, "created_at": time.time()}
    with engine.begin() as connection:
        connection.execute(sa.insert(credentials).values(**row))
    return credential_id, plain


def revoke(engine: sa.Engine, credential_id: str) -> bool:
    """Revoke an active key or signing secret; False when there is none by that id."""
    with engine.begin() as connection:
        done = connection.execute(
            sa.update(credentials)
            .where(credentials.c.id == credential_id, credentials.c.revoked_at.is_(None))
            .values(revoked_at=time.time())
        )
        return bool(done.rowcount)


def every(engine: sa.Engine, active_only: bool = False) -> list[Credential]:
    """Credentials, oldest first (only those not revoked with ``active_only``)."""
    query = sa.select(credentials).order_by(credentials.c.created_at, credentials.c.id)
    if active_only:
        query = query.where(credentials.c.revoked_at.is_(None))
    with engine.connect() as connection:
        return [Credential(**row) for row in connection.execute(query).mappings()]
