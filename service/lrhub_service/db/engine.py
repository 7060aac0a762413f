"""The async database handle: driver mapping, SQLite pragmas and transaction modes.

Three ways to talk to the database, chosen per use-case:

- ``db.autocommit()``: every statement commits on its own (reads, and writes that are one
  atomic statement such as the shared counter). One round trip per statement on PostgreSQL.
- ``db.transaction()``: a read-modify-write transaction. PostgreSQL takes row locks with
  ``SELECT ... FOR UPDATE``; SQLite starts with ``BEGIN IMMEDIATE`` so writers queue on the
  busy timeout instead of failing with "database is locked".

Both raise :class:`~lrhub_service.db.errors.DatabaseUnavailable` when the database cannot
be reached (connecting, or any statement inside the block), never a driver's own error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from lrhub_service.db.errors import faults_as_domain_errors
from lrhub_service.db.urls import async_url, asyncpg_ssl_off, backend_name, is_memory_sqlite

MODE_OPTION = "lrhub_mode"
CONNECT_TIMEOUT_S = 5.0


class Database:
    """Owns the async engine of one server process."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 5,
        max_overflow: int = 5,
        pool_timeout: float = 30.0,
        busy_timeout_ms: int = 5000,
    ) -> None:
        self.url = url
        self.backend = backend_name(url)
        if self.backend == "sqlite":
            if is_memory_sqlite(url):
                raise ValueError("an in-memory SQLite database cannot be served; use a file")
            self.engine = create_async_engine(
                async_url(url),
                connect_args={"timeout": busy_timeout_ms / 1000},
            )
            _install_sqlite_hooks(self.engine, busy_timeout_ms)
        else:
            self.engine = create_async_engine(
                async_url(url),
                connect_args={
                    "timeout": CONNECT_TIMEOUT_S,  # an unreachable host is a 503, not a hang
                    **({"ssl": False} if asyncpg_ssl_off(url) else {}),
                },
                pool_size=pool_size,
                max_overflow=max_overflow,
                pool_timeout=pool_timeout,
                pool_recycle=1800,
            )

    @property
    def is_sqlite(self) -> bool:
        return self.backend == "sqlite"

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncConnection]:
        """A connection where each statement commits by itself."""
        async with faults_as_domain_errors(), self.engine.connect() as conn:
            if self.is_sqlite:
                await conn.execution_options(**{MODE_OPTION: "autocommit"})
            else:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn
            await conn.commit()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A read-modify-write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
        async with faults_as_domain_errors(), self.engine.connect() as conn:
            if self.is_sqlite:
                await conn.execution_options(**{MODE_OPTION: "write"})
            async with conn.begin():
                yield conn

    async def schema_version(self) -> str | None:
        """The Alembic revision the database is at (raises when it is unreachable)."""
        async with self.autocommit() as conn:
            query = text("SELECT version_num FROM alembic_version")
            return (await conn.execute(query)).scalar_one_or_none()  # type: ignore[no-any-return]

    async def dispose(self) -> None:
        await self.engine.dispose()


def _install_sqlite_hooks(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    """WAL, busy timeout, foreign keys, and explicit BEGIN control for SQLite."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(MODE_OPTION)
        if mode == "autocommit":
            return
        conn.exec_driver_sql("BEGIN IMMEDIATE" if mode == "write" else "BEGIN")
