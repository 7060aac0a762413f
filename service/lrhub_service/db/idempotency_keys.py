"""Statements on stored Idempotency-Key answers (the advance batch stores its own keys in
the same table, inside its one statement: see ``run_store.fast``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from lrhub_service.db.models import IdempotencyKey, utcnow


class KeyRows:
    """Every statement on stored answers, bound to one connection."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def find(self, scope: str, key: str) -> Any:
        """The stored (fingerprint, status, body) of a key, or None."""
        query = select(IdempotencyKey.fingerprint, IdempotencyKey.status, IdempotencyKey.body)
        query = query.where(IdempotencyKey.scope == scope, IdempotencyKey.idem_key == key)
        return (await self.conn.execute(query)).first()

    async def store(self, scope: str, key: str, fingerprint: str, status: int, body: str) -> bool:
        """Store an answer; False when the key exists already (a concurrent duplicate won)."""
        return await _store(self.conn, scope, key, fingerprint, status, body)

    async def prune(self, cutoff: datetime) -> int:
        """Delete answers stored before ``cutoff``; returns how many went."""
        result = await self.conn.execute(
            delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)
        )
        return int(result.rowcount or 0)


async def _store(
    conn: AsyncConnection, scope: str, key: str, fingerprint: str, status: int, body: str
) -> bool:
    try:
        await conn.execute(
            insert(IdempotencyKey).values(
                scope=scope,
                idem_key=key,
                fingerprint=fingerprint,
                status=status,
                body=body,
                created_at=utcnow(),
            )
        )
    except IntegrityError:
        return False
    return True
