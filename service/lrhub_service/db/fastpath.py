"""Hot-path statements on the raw drivers, bypassing SQLAlchemy's per-statement overhead.

Reads of a run's freshness triple and the shared counter are the only queries on the
per-request path. On PostgreSQL they go through a small asyncpg pool (prepared statements);
on SQLite reads run directly on a dedicated connection (a WAL primary-key read takes
microseconds and never waits for writers) and writes run in a worker thread on another.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from typing import Any, NamedTuple

from sqlalchemy.engine import make_url

from lrhub_service.db.coalesce import Coalescer, CounterBatcher
from lrhub_service.db.urls import asyncpg_ssl_off, backend_name

PG_FRESHNESS = "SELECT revision, state_version, horizon FROM runs WHERE id = $1"
PG_ADVANCE = (
    "UPDATE runs SET next_step = next_step + $2, "
    "horizon = GREATEST(horizon, next_step + $2 - 1) "
    "WHERE id = $1 RETURNING next_step, revision, state_version"
)
PG_PROMISE = (
    "UPDATE runs SET horizon = GREATEST(horizon, $2) "
    "WHERE id = $1 AND revision = $3 AND state_version = $4 RETURNING horizon"
)
SQLITE_FRESHNESS = "SELECT revision, state_version, horizon FROM runs WHERE id = ?"
SQLITE_ADVANCE = (
    "UPDATE runs SET next_step = next_step + ?2, horizon = max(horizon, next_step + ?2 - 1) "
    "WHERE id = ?1 RETURNING next_step, revision, state_version"
)
SQLITE_PROMISE = (
    "UPDATE runs SET horizon = max(horizon, ?2) "
    "WHERE id = ?1 AND revision = ?3 AND state_version = ?4 RETURNING horizon"
)


class Freshness(NamedTuple):
    revision: int
    state_version: int
    horizon: int


class Taken(NamedTuple):
    first_step: int
    revision: int
    state_version: int


async def _keep_session(_connection: Any) -> None:
    """Skip asyncpg's per-release ``RESET ALL``/``UNLISTEN *`` round trip."""


class FastPath:
    """Raw-driver versions of the three per-request statements."""

    def __init__(self, url: str, *, pool_size: int, busy_timeout_ms: int) -> None:
        self.backend = backend_name(url)
        self._url = url
        self._pool_size = pool_size
        self._busy_ms = busy_timeout_ms
        self._pool: Any = None
        self._reader: sqlite3.Connection | None = None
        self._writer: sqlite3.Connection | None = None
        self._write_lock = threading.Lock()
        self._coalesced: Coalescer[Freshness | None] = Coalescer(self._pg_freshness)
        self._counter = CounterBatcher(self._advance_statement)

    async def open(self) -> None:
        if self.backend == "postgresql":
            import asyncpg

            dsn = make_url(self._url).set(drivername="postgresql")
            self._pool = await asyncpg.create_pool(
                dsn.render_as_string(hide_password=False),
                min_size=1,
                max_size=self._pool_size,
                reset=_keep_session,  # our statements leave no session state behind
                **({"ssl": False} if asyncpg_ssl_off(self._url) else {}),
            )
        else:
            path = make_url(self._url).database or ""
            self._reader = self._sqlite(path)
            self._writer = self._sqlite(path)

    def _sqlite(self, path: str) -> sqlite3.Connection:
        conn = sqlite3.connect(
            path, timeout=self._busy_ms / 1000, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_ms)}")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
        for conn in (self._reader, self._writer):
            if conn is not None:
                conn.close()

    async def freshness(self, run_id: int) -> Freshness | None:
        """The run's revision, state version and horizon, or None when it does not exist."""
        if self._pool is not None:
            return await self._coalesced.get(run_id)
        assert self._reader is not None
        rows = self._reader.execute(SQLITE_FRESHNESS, (run_id,)).fetchall()
        return Freshness(*rows[0]) if rows else None

    async def _pg_freshness(self, run_id: int) -> Freshness | None:
        row = await self._pool.fetchrow(PG_FRESHNESS, run_id)
        return Freshness(*row) if row is not None else None

    async def advance(self, run_id: int, count: int) -> Taken | None:
        """Atomically take ``count`` steps: the first one taken and the run's versions.

        Concurrent calls on one run share a statement (see ``CounterBatcher``).
        """
        taken = await self._counter.take(run_id, count)
        return Taken(*taken) if taken is not None else None

    async def _advance_statement(self, run_id: int, count: int) -> tuple[int, int, int] | None:
        if self._pool is not None:
            row = await self._pool.fetchrow(PG_ADVANCE, run_id, count)
        else:
            row = await asyncio.to_thread(self._write, SQLITE_ADVANCE, (run_id, count))
        return (int(row[0]), int(row[1]), int(row[2])) if row is not None else None

    async def promise(
        self, run_id: int, last: int, revision: int, state_version: int
    ) -> int | None:
        """Extend the horizon to ``last`` if the run is still at these versions."""
        args = (run_id, last, revision, state_version)
        if self._pool is not None:
            row = await self._pool.fetchrow(PG_PROMISE, *args)
        else:
            row = await asyncio.to_thread(self._write, SQLITE_PROMISE, args)
        return int(row[0]) if row is not None else None

    def _write(self, sql: str, args: tuple[int, ...]) -> tuple[Any, ...] | None:
        assert self._writer is not None
        with self._write_lock:  # fetchall: a RETURNING statement commits when it completes
            rows = self._writer.execute(sql, args).fetchall()
        return tuple(rows[0]) if rows else None
