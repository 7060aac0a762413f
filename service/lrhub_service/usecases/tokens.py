"""Bearer tokens: create, list, revoke (stored as SHA-256) and verify in constant time.

Tokens come from ``LRHUB_TOKENS`` or from ``lrhub tokens create``. Database tokens are
cached per process for ``REFRESH_SECONDS``, so a revoked token stops working within that.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine, insert, pool, select, update
from sqlalchemy.exc import IntegrityError

from lrhub_service.db.engine import Database
from lrhub_service.db.models import ApiToken, utcnow
from lrhub_service.db.urls import sync_url
from lrhub_service.settings import Settings

REFRESH_SECONDS = 5.0
SCOPES = ("read", "write")


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return "lrh_" + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Principal:
    """Who made a request and what they may do."""

    name: str
    scope: str

    def allows(self, needed: str) -> bool:
        return self.scope == "write" or needed == "read"


class TokenStore:
    """Known token hashes: the configured ones plus the database's (refreshed lazily)."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self._configured = [
            (hash_token(t.secret), Principal(t.name, t.scope)) for t in settings.configured_tokens()
        ]
        self._db = db
        self._stored: list[tuple[str, Principal]] = []
        self._any_stored = False
        self._loaded_at = -1e9

    async def _refresh(self) -> None:
        if time.monotonic() - self._loaded_at < REFRESH_SECONDS:
            return
        async with self._db.autocommit() as conn:
            rows = (
                await conn.execute(
                    select(ApiToken.token_hash, ApiToken.name, ApiToken.scope, ApiToken.revoked_at)
                )
            ).all()
        self._any_stored = bool(rows)
        self._stored = [
            (r.token_hash, Principal(r.name, r.scope)) for r in rows if r.revoked_at is None
        ]
        self._loaded_at = time.monotonic()

    async def enabled(self) -> bool:
        """True when any token exists (revoked ones too: revoking never opens a server)."""
        await self._refresh()
        return bool(self._configured or self._any_stored)

    async def verify(self, secret: str) -> Principal | None:
        """The principal of a presented token, compared in constant time."""
        await self._refresh()
        presented = hash_token(secret)
        found = None
        for stored, principal in (*self._configured, *self._stored):
            if hmac.compare_digest(presented, stored):
                found = principal
        return found


def _sync_engine(database_url: str) -> Any:
    return create_engine(sync_url(database_url), poolclass=pool.NullPool)


def create_token(database_url: str, name: str, scope: str) -> str:
    """Store a new token and return its secret (shown once)."""
    if scope not in SCOPES:
        raise ValueError("scope must be read or write")
    secret = new_secret()
    engine = _sync_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(ApiToken).values(
                    name=name, scope=scope, token_hash=hash_token(secret), created_at=utcnow()
                )
            )
    except IntegrityError as exc:
        raise ValueError(f"a token named {name!r} already exists") from exc
    finally:
        engine.dispose()
    return secret


def list_tokens(database_url: str) -> list[dict[str, Any]]:
    """Name, scope, created and revoked stamps of every stored token (never secrets)."""
    engine = _sync_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    ApiToken.name, ApiToken.scope, ApiToken.created_at, ApiToken.revoked_at
                ).order_by(ApiToken.id)
            ).all()
    finally:
        engine.dispose()
    return [dict(r._mapping) for r in rows]


def revoke_token(database_url: str, name: str) -> bool:
    """Revoke a stored token by name; False when no active token has that name."""
    engine = _sync_engine(database_url)
    try:
        with engine.begin() as conn:
            result = conn.execute(
                update(ApiToken)
                .where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
    finally:
        engine.dispose()
    return bool(result.rowcount)
