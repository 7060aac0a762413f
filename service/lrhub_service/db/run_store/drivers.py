"""The raw driver connections of one process: an asyncpg pool, or two SQLite connections.

On PostgreSQL statements go through a small asyncpg pool (prepared statements); on SQLite
reads run directly on a dedicated connection (a WAL primary-key read takes microseconds and
never waits for writers) and writes run in a worker thread on another, one at a time.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from typing import Any

from sqlalchemy.engine import make_url

from lrhub_service.db.urls import asyncpg_ssl_off, backend_name


async def _keep_session(_connection: Any) -> None:
    """Skip asyncpg's per-release ``RESET ALL``/``UNLISTEN *`` round trip."""


class Drivers:
    """Opens, holds and closes the raw connections; runs SQLite writes one at a time."""

    def __init__(self, url: str, *, pool_size: int, busy_timeout_ms: int) -> None:
        self.backend = backend_name(url)
        self.url = url
        self._pool_size = pool_size
        self._busy_ms = busy_timeout_ms
        self.pool: Any = None
        self.reader: sqlite3.Connection | None = None
        self.writer: sqlite3.Connection | None = None
        self.write_lock = threading.Lock()

    def asyncpg_connect_kwargs(self) -> dict[str, Any]:
        """What ``asyncpg.connect`` needs to reach this database."""
        dsn = make_url(self.url).set(drivername="postgresql")
        return {
            "dsn": dsn.render_as_string(hide_password=False),
            **({"ssl": False} if asyncpg_ssl_off(self.url) else {}),
        }

    async def open(self) -> None:
        if self.backend == "postgresql":
            import asyncpg  # the PostgreSQL driver is only needed for PostgreSQL

            self.pool = await asyncpg.create_pool(
                min_size=1,
                max_size=self._pool_size,
                reset=_keep_session,  # our statements leave no session state behind
                **self.asyncpg_connect_kwargs(),
            )
        else:
            path = make_url(self.url).database or ""
            self.reader = self._sqlite(path)
            self.writer = self._sqlite(path)

    def _sqlite(self, path: str) -> sqlite3.Connection:
        conn = sqlite3.connect(
            path, timeout=self._busy_ms / 1000, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_ms)}")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
        for conn in (self.reader, self.writer):
            if conn is not None:
                conn.close()

    def read_one(self, sql: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """One row from the SQLite reader."""
        assert self.reader is not None
        rows = self.reader.execute(sql, args).fetchall()
        return tuple(rows[0]) if rows else None

    def write_one(self, sql: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """One SQLite write (a RETURNING statement commits when fetched); its first row."""
        assert self.writer is not None
        with self.write_lock:
            rows = self.writer.execute(sql, args).fetchall()
        return tuple(rows[0]) if rows else None

    async def write(self, sql: str, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """``write_one`` in a worker thread."""
        return await asyncio.to_thread(self.write_one, sql, args)
