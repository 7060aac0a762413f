"""The per-request statements on run rows, on the raw drivers: a run's freshness, a window's
promise, and the shared counter (``counter.py``).

Reads of a run's freshness triple and the shared counter are the only queries on the
per-request path, so they bypass SQLAlchemy's per-statement overhead. On PostgreSQL the
freshness of the runs a process served is cached and kept honest by LISTEN/NOTIFY.
"""

from __future__ import annotations

from lrhub_service.db.coalesce import Coalescer
from lrhub_service.db.errors import raises_domain_errors
from lrhub_service.db.listener import Freshness, FreshnessCache
from lrhub_service.db.run_store.counter import BlockCheck, Claim, Outcome, SharedCounter
from lrhub_service.db.run_store.drivers import Drivers
from lrhub_service.db.run_store.sql import (
    PG_FRESHNESS,
    PG_PROMISE,
    SQLITE_FRESHNESS,
    SQLITE_PROMISE,
)


class FastRuns:
    """A run's freshness, a window's promise and the shared counter, on the raw drivers."""

    def __init__(
        self, url: str, *, pool_size: int, busy_timeout_ms: int, read_cache: bool = True
    ) -> None:
        self._drivers = Drivers(url, pool_size=pool_size, busy_timeout_ms=busy_timeout_ms)
        self.backend = self._drivers.backend
        self._read_cache = read_cache
        self._coalesced: Coalescer[Freshness | None] = Coalescer(self._pg_freshness)
        self.notified: FreshnessCache | None = None
        self._counter = SharedCounter(self._drivers, self.forget)

    @property
    def check(self) -> BlockCheck | None:
        """How the counter checks a block it took (set by the use cases)."""
        return self._counter.check

    @check.setter
    def check(self, check: BlockCheck | None) -> None:
        self._counter.check = check

    async def open(self) -> None:
        await self._drivers.open()
        if self._drivers.pool is not None and self._read_cache:
            self.notified = FreshnessCache(self._drivers.asyncpg_connect_kwargs())
            self.notified.start()

    async def close(self) -> None:
        if self.notified is not None:
            await self.notified.close()
        await self._drivers.close()

    @raises_domain_errors
    async def freshness(self, run_id: int) -> Freshness | None:
        """The run's revision, state version and horizon, or None when it does not exist."""
        if self._drivers.pool is not None:
            notified = self.notified
            if notified is None:
                return await self._coalesced.get(run_id)
            hit = notified.get(run_id)
            if hit is not None:
                return hit
            seen = notified.changes
            row = await self._coalesced.get(run_id)  # a query sent after ``seen`` was read
            if row is not None:
                notified.put(run_id, row, seen)
            return row
        found = self._drivers.read_one(SQLITE_FRESHNESS, (run_id,))
        return Freshness(*found) if found is not None else None

    async def _pg_freshness(self, run_id: int) -> Freshness | None:
        row = await self._drivers.pool.fetchrow(PG_FRESHNESS, run_id)
        return Freshness(*row) if row is not None else None

    @raises_domain_errors
    async def advance(self, run_id: int, claim: Claim) -> Outcome | None:
        """Atomically take ``claim.count`` steps (or find the answer stored under its key).

        Concurrent calls on one run share a statement; the keys of a batch are stored by
        that same statement, so a step and its key commit together.
        """
        return await self._counter.take(run_id, claim)

    @raises_domain_errors
    async def promise(
        self, run_id: int, last: int, revision: int, state_version: int
    ) -> int | None:
        """Extend the horizon to ``last`` if the run is still at these versions."""
        args = (run_id, last, revision, state_version)
        if self._drivers.pool is not None:
            row = await self._drivers.pool.fetchrow(PG_PROMISE, *args)
        else:
            row = await self._drivers.write(SQLITE_PROMISE, args)
        if row is None:
            return None
        if self.notified is not None:
            self.notified.raise_horizon(run_id, int(row[0]))
        return int(row[0])

    def forget(self, run_id: int) -> None:
        """This process changed the run: drop its cached freshness now (before answering)."""
        if self.notified is not None:
            self.notified.forget(run_id)
