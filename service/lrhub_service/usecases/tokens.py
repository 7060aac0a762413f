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

from lrhub_service.db import token_rows
from lrhub_service.db.engine import Database
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
        rows = await token_rows.load(self._db)
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


def create_token(database_url: str, name: str, scope: str) -> str:
    """Store a new token and return its secret (shown once)."""
    if scope not in SCOPES:
        raise ValueError("scope must be read or write")
    secret = new_secret()
    try:
        token_rows.insert_token(database_url, name, scope, hash_token(secret))
    except token_rows.DuplicateToken as exc:
        raise ValueError(f"a token named {name!r} already exists") from exc
    return secret


def list_tokens(database_url: str) -> list[dict[str, Any]]:
    """Name, scope, created and revoked stamps of every stored token (never secrets)."""
    return token_rows.token_rows(database_url)


def revoke_token(database_url: str, name: str) -> bool:
    """Revoke a stored token by name; False when no active token has that name."""
    return token_rows.revoke(database_url, name)
