"""Statements bound to a connection, for a read or for a unit of work's transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncConnection

from lrhub_service.db.engine import Database
from lrhub_service.db.idempotency_keys import KeyRows
from lrhub_service.db.launch_rows import LaunchRows
from lrhub_service.db.records import RunRecords
from lrhub_service.db.run_store import RunRows


class Statements(NamedTuple):
    """The run store's rows, a run's records, its launches and the stored answers, on one
    connection."""

    runs: RunRows
    records: RunRecords
    keys: KeyRows
    launches: LaunchRows


@asynccontextmanager
async def autocommitted(db: Database) -> AsyncIterator[Statements]:
    """Statements that each commit by themselves: reads, and single-statement housekeeping."""
    async with db.autocommit() as conn:
        yield _bound(db, conn)


@asynccontextmanager
async def transaction(db: Database) -> AsyncIterator[Statements]:
    """Statements inside one read-modify-write transaction (committed on a clean exit)."""
    async with db.transaction() as conn:
        yield _bound(db, conn)


def _bound(db: Database, conn: AsyncConnection) -> Statements:
    is_sqlite = db.is_sqlite
    return Statements(
        RunRows(conn, is_sqlite=is_sqlite),
        RunRecords(conn, is_sqlite=is_sqlite),
        KeyRows(conn),
        LaunchRows(conn),
    )
