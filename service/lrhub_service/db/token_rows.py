"""Statements on stored bearer tokens (only their SHA-256 is kept)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, func, insert, pool, select, update
from sqlalchemy.exc import IntegrityError

from lrhub_service.db.engine import Database
from lrhub_service.db.models import ApiToken, utcnow
from lrhub_service.db.urls import sync_url


class DuplicateToken(Exception):
    """A token with this name exists already."""


async def load(db: Database) -> list[Any]:
    """Every stored token: hash, name, scope, revoked stamp."""
    async with db.autocommit() as conn:
        query = select(ApiToken.token_hash, ApiToken.name, ApiToken.scope, ApiToken.revoked_at)
        return list((await conn.execute(query)).all())


def _sync_engine(database_url: str) -> Any:
    return create_engine(sync_url(database_url), poolclass=pool.NullPool)


def insert_token(database_url: str, name: str, scope: str, token_hash: str) -> None:
    engine = _sync_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(ApiToken).values(
                    name=name, scope=scope, token_hash=token_hash, created_at=utcnow()
                )
            )
    except IntegrityError as exc:
        raise DuplicateToken(name) from exc
    finally:
        engine.dispose()


def token_rows(database_url: str) -> list[dict[str, Any]]:
    """Name, scope, created and revoked stamps of every stored token."""
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


def revoke(database_url: str, name: str) -> bool:
    """Revoke an active token by name; False when there is none."""
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


def insert_first_token(database_url: str, name: str, token_hash: str) -> bool:
    """Insert a write token only while none is stored; False when any exists or another
    process inserted ``name`` first (the unique name makes the race have one winner)."""
    engine = _sync_engine(database_url)
    try:
        with engine.begin() as conn:
            if conn.execute(select(func.count(ApiToken.id))).scalar_one():
                return False
            conn.execute(
                insert(ApiToken).values(
                    name=name, scope="write", token_hash=token_hash, created_at=utcnow()
                )
            )
    except IntegrityError:
        return False
    finally:
        engine.dispose()
    return True
