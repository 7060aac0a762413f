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
from lrhub_service.db.errors import raises_domain_errors
from lrhub_service.db.listener import Freshness, FreshnessCache
from lrhub_service.db.models import utcnow
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
PG_ADVANCE_KEYED = (
    "WITH taken AS (UPDATE runs SET next_step = next_step + $2, "
    "horizon = GREATEST(horizon, next_step + $2 - 1) "
    "WHERE id = $1 RETURNING next_step, revision, state_version), "
    "keyed AS (INSERT INTO idempotency_keys "
    "(scope, idem_key, fingerprint, status, body, created_at) "
    "SELECT k.scope, k.idem_key, k.fp, 200, "
    """'{"first_step":' || (taken.next_step - $2 + k.off) || ',"count":' || k.n || '}', now() """
    "FROM taken, unnest($3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[]) "
    "AS k(scope, idem_key, fp, off, n)) "
    "SELECT next_step, revision, state_version FROM taken"
)
PG_STORED = "SELECT fingerprint, body FROM idempotency_keys WHERE scope = $1 AND idem_key = $2"
SQLITE_STORED = "SELECT fingerprint, body FROM idempotency_keys WHERE scope = ? AND idem_key = ?"
SQLITE_REMEMBER = (
    "INSERT INTO idempotency_keys (scope, idem_key, fingerprint, status, body, created_at) "
    "VALUES (?, ?, ?, 200, ?, ?)"
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


class Taken(NamedTuple):
    first_step: int
    revision: int
    state_version: int


class Claim(NamedTuple):
    """One advance: how many steps, and its idempotency key (scope, key, fingerprint)."""

    count: int
    idem: tuple[str, str, str] | None = None


class Stored(NamedTuple):
    """An advance already answered under this key: the request's hash and the block taken."""

    fingerprint: str
    body: str


Outcome = Taken | Stored


class KeyConflict(Exception):
    """A batch's key insert hit a key that exists (a retry, or a duplicate in flight)."""


async def _keep_session(_connection: Any) -> None:
    """Skip asyncpg's per-release ``RESET ALL``/``UNLISTEN *`` round trip."""


class FastPath:
    """Raw-driver versions of the three per-request statements."""

    def __init__(
        self, url: str, *, pool_size: int, busy_timeout_ms: int, read_cache: bool = True
    ) -> None:
        self.backend = backend_name(url)
        self._url = url
        self._pool_size = pool_size
        self._busy_ms = busy_timeout_ms
        self._read_cache = read_cache
        self._pool: Any = None
        self._reader: sqlite3.Connection | None = None
        self._writer: sqlite3.Connection | None = None
        self._write_lock = threading.Lock()
        self._coalesced: Coalescer[Freshness | None] = Coalescer(self._pg_freshness)
        self.notified: FreshnessCache | None = None
        self._counter: CounterBatcher[Claim, Outcome] = CounterBatcher(self._advance_batch)

    async def open(self) -> None:
        if self.backend == "postgresql":
            import asyncpg

            dsn = make_url(self._url).set(drivername="postgresql")
            connect = {
                "dsn": dsn.render_as_string(hide_password=False),
                **({"ssl": False} if asyncpg_ssl_off(self._url) else {}),
            }
            self._pool = await asyncpg.create_pool(
                min_size=1,
                max_size=self._pool_size,
                reset=_keep_session,  # our statements leave no session state behind
                **connect,
            )
            if self._read_cache:
                self.notified = FreshnessCache(connect)
                self.notified.start()
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
        if self.notified is not None:
            await self.notified.close()
        if self._pool is not None:
            await self._pool.close()
        for conn in (self._reader, self._writer):
            if conn is not None:
                conn.close()

    @raises_domain_errors
    async def freshness(self, run_id: int) -> Freshness | None:
        """The run's revision, state version and horizon, or None when it does not exist."""
        if self._pool is not None:
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
        assert self._reader is not None
        rows = self._reader.execute(SQLITE_FRESHNESS, (run_id,)).fetchall()
        return Freshness(*rows[0]) if rows else None

    async def _pg_freshness(self, run_id: int) -> Freshness | None:
        row = await self._pool.fetchrow(PG_FRESHNESS, run_id)
        return Freshness(*row) if row is not None else None

    @raises_domain_errors
    async def advance(self, run_id: int, claim: Claim) -> Outcome | None:
        """Atomically take ``claim.count`` steps (or find the answer stored under its key).

        Concurrent calls on one run share a statement (see ``CounterBatcher``); the keys of
        a batch are stored by that same statement, so a step and its key commit together.
        """
        return await self._counter.take(run_id, claim)

    async def _advance_batch(self, run_id: int, claims: list[Claim]) -> list[Outcome] | None:
        try:
            row = await self._take(run_id, claims)
        except KeyConflict:  # rare: a retry or duplicate in the batch; one claim at a time
            outcomes: list[Outcome] = []
            for claim in claims:
                outcome = await self._take_one(run_id, claim)
                if outcome is None:
                    return None
                outcomes.append(outcome)
            return outcomes
        if row is None:
            return None
        end, revision, state_version = row
        first = end - sum(c.count for c in claims)
        outcomes = []
        for claim in claims:
            outcomes.append(Taken(first, revision, state_version))
            first += claim.count
        return outcomes

    async def _take_one(self, run_id: int, claim: Claim) -> Outcome | None:
        for _attempt in range(3):
            if claim.idem is not None:
                found = await self._stored(claim.idem)
                if found is not None:
                    return found
            try:
                row = await self._take(run_id, [claim])
            except KeyConflict:
                continue  # stored meanwhile by a concurrent duplicate: read it
            return Taken(row[0] - claim.count, row[1], row[2]) if row is not None else None
        raise KeyConflict(claim.idem)

    async def _stored(self, idem: tuple[str, str, str]) -> Stored | None:
        scope, key, _fingerprint = idem
        if self._pool is not None:
            row = await self._pool.fetchrow(PG_STORED, scope, key)
        else:
            assert self._reader is not None
            rows = self._reader.execute(SQLITE_STORED, (scope, key)).fetchall()
            row = rows[0] if rows else None
        return Stored(row[0], row[1]) if row is not None else None

    async def _take(self, run_id: int, claims: list[Claim]) -> tuple[int, int, int] | None:
        """One statement taking the batch's steps and storing its keys: (end, rev, sv)."""
        total = sum(c.count for c in claims)
        keyed = [(c, offset) for c, offset in zip(claims, _offsets(claims), strict=True) if c.idem]
        if self._pool is not None:
            import asyncpg

            try:
                if keyed:
                    row = await self._pool.fetchrow(
                        PG_ADVANCE_KEYED, run_id, total, *_key_columns(keyed)
                    )
                else:
                    row = await self._pool.fetchrow(PG_ADVANCE, run_id, total)
            except asyncpg.UniqueViolationError as exc:
                raise KeyConflict(str(exc)) from exc
        else:
            row = await asyncio.to_thread(self._sqlite_take, run_id, total, keyed)
        return (int(row[0]), int(row[1]), int(row[2])) if row is not None else None

    def _sqlite_take(
        self, run_id: int, total: int, keyed: list[tuple[Claim, int]]
    ) -> tuple[Any, ...] | None:
        if not keyed:
            return self._write(SQLITE_ADVANCE, (run_id, total))
        assert self._writer is not None
        now = utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")
        with self._write_lock:
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                rows = conn.execute(SQLITE_ADVANCE, (run_id, total)).fetchall()
                if rows:
                    end = int(rows[0][0])
                    conn.executemany(
                        SQLITE_REMEMBER,
                        [
                            (*c.idem, _block_json(end - total + off, c.count), now)
                            for c, off in keyed
                            if c.idem is not None
                        ],
                    )
                conn.execute("COMMIT")
            except sqlite3.IntegrityError as exc:
                conn.execute("ROLLBACK")
                raise KeyConflict(str(exc)) from exc
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return tuple(rows[0]) if rows else None

    @raises_domain_errors
    async def promise(
        self, run_id: int, last: int, revision: int, state_version: int
    ) -> int | None:
        """Extend the horizon to ``last`` if the run is still at these versions."""
        args = (run_id, last, revision, state_version)
        if self._pool is not None:
            row = await self._pool.fetchrow(PG_PROMISE, *args)
        else:
            row = await asyncio.to_thread(self._write, SQLITE_PROMISE, args)
        if row is None:
            return None
        if self.notified is not None:
            self.notified.raise_horizon(run_id, int(row[0]))
        return int(row[0])

    def forget(self, run_id: int) -> None:
        """This process changed the run: drop its cached freshness now (before answering)."""
        if self.notified is not None:
            self.notified.forget(run_id)

    def _write(self, sql: str, args: tuple[int, ...]) -> tuple[Any, ...] | None:
        assert self._writer is not None
        with self._write_lock:  # fetchall: a RETURNING statement commits when it completes
            rows = self._writer.execute(sql, args).fetchall()
        return tuple(rows[0]) if rows else None


def _offsets(claims: list[Claim]) -> list[int]:
    offsets, total = [], 0
    for claim in claims:
        offsets.append(total)
        total += claim.count
    return offsets


def _block_json(first_step: int, count: int) -> str:
    return f'{{"first_step":{first_step},"count":{count}}}'


def _key_columns(keyed: list[tuple[Claim, int]]) -> tuple[list[Any], ...]:
    scopes, keys, fingerprints, offsets, counts = [], [], [], [], []
    for claim, offset in keyed:
        assert claim.idem is not None
        scope, key, fingerprint = claim.idem
        scopes.append(scope)
        keys.append(key)
        fingerprints.append(fingerprint)
        offsets.append(offset)
        counts.append(claim.count)
    return scopes, keys, fingerprints, offsets, counts
