"""The shared counter: concurrent advances of a run batched into one statement.

Each batch takes its steps and stores its claims' idempotency keys in the same statement, so a
step and its key commit together; a batch is then checked against the schedule, and the
claims from the first step that cannot be evaluated are refused and given back.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

from lrhub_service.db.coalesce import CounterBatcher
from lrhub_service.db.models import utcnow
from lrhub_service.db.run_store.drivers import Drivers
from lrhub_service.db.run_store.sql import (
    PG_ADVANCE,
    PG_ADVANCE_KEYED,
    PG_FORGET_KEYS,
    PG_REWIND,
    PG_STORED,
    SQLITE_ADVANCE,
    SQLITE_FORGET_KEY,
    SQLITE_REMEMBER,
    SQLITE_REWIND,
    SQLITE_STORED,
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


class Refused(NamedTuple):
    """An advance refused because its block holds a step the schedule cannot evaluate."""

    step: int
    reason: str


Outcome = Taken | Stored | Refused
BlockCheck = Callable[[int, int, int, int, int], Awaitable[tuple[int, str] | None]]
"""``check(run_id, first, count, revision, state_version)``: the first bad step and why."""


class KeyConflict(Exception):
    """A batch's key insert hit a key that exists (a retry, or a duplicate in flight)."""


class SharedCounter:
    """``take(run_id, claim)``: this claim's steps (or stored answer, or refusal)."""

    def __init__(self, drivers: Drivers, forget: Callable[[int], None]) -> None:
        self._drivers = drivers
        self._forget_freshness = forget
        self._batcher: CounterBatcher[Claim, Outcome] = CounterBatcher(self._advance_batch)
        self.check: BlockCheck | None = None  # set by the use cases: can a block be evaluated?

    async def take(self, run_id: int, claim: Claim) -> Outcome | None:
        """Atomically take ``claim.count`` steps (None: no such run)."""
        return await self._batcher.take(run_id, claim)

    async def _advance_batch(self, run_id: int, claims: list[Claim]) -> list[Outcome] | None:
        try:
            row = await self._take(run_id, claims)
        except KeyConflict:  # rare: a retry or duplicate in the batch; one claim at a time
            outcomes: list[Outcome] = []
            for claim in claims:
                outcome = await self._take_one(run_id, claim)
                if outcome is None:
                    return None
                outcomes.extend(await self._checked(run_id, [claim], [outcome]))
            return outcomes
        if row is None:
            return None
        end, revision, state_version = row
        first = end - sum(c.count for c in claims)
        outcomes = []
        for claim in claims:
            outcomes.append(Taken(first, revision, state_version))
            first += claim.count
        return await self._checked(run_id, claims, outcomes)

    async def _checked(
        self, run_id: int, claims: list[Claim], outcomes: list[Outcome]
    ) -> list[Outcome]:
        """Refuse the claims from the one holding the first step ``check`` cannot evaluate.

        The steps of one batch are contiguous and no other batch of this process runs on
        the run meanwhile, so the counter goes back to the start of that claim and the
        refused claims take nothing, unless another process took steps after this batch
        (then only the claim holding the bad step is refused, and its steps are lost).
        """
        taken = [(i, o) for i, o in enumerate(outcomes) if isinstance(o, Taken)]
        if self.check is None or not taken:
            return outcomes
        first = taken[0][1].first_step
        last_index, last = taken[-1]
        end = last.first_step + claims[last_index].count
        try:
            bad = await self.check(run_id, first, end - first, last.revision, last.state_version)
        except BaseException:  # e.g. no base values yet: the batch takes nothing
            await self._rewind(run_id, first, end, end - 1)
            await self._forget_keys([claims[i].idem for i, _ in taken])
            raise
        if bad is None:
            return outcomes
        step, reason = bad
        holder = next(n for n, (i, o) in enumerate(taken) if o.first_step + claims[i].count > step)
        rewound = await self._rewind(run_id, taken[holder][1].first_step, end, step - 1)
        refused = [i for i, _ in (taken[holder:] if rewound else taken[holder : holder + 1])]
        await self._forget_keys([claims[i].idem for i in refused])
        result = list(outcomes)
        for i in refused:
            result[i] = Refused(step, reason)
        return result

    async def _rewind(self, run_id: int, step: int, end: int, horizon: int) -> bool:
        """Set the counter back from ``end`` to ``step`` if nobody took steps since.

        The horizon this batch raised to ``end - 1`` becomes ``horizon``: the step before
        the bad one (values that were computable; promising them is the safe side, as the
        horizon before the batch is not known), or unchanged when no bad step is known.
        """
        args = (run_id, step, end, horizon)
        if self._drivers.pool is not None:
            rows = await self._drivers.pool.fetch(PG_REWIND, *args)
            self._forget_freshness(run_id)
            return bool(rows)
        return await self._drivers.write(SQLITE_REWIND, args) is not None

    async def _forget_keys(self, keys: list[tuple[str, str, str] | None]) -> None:
        """Drop the stored answers of refused claims (only successes are remembered)."""
        pairs = [(scope, key) for scope, key, _fp in (k for k in keys if k is not None)]
        if not pairs:
            return
        if self._drivers.pool is not None:
            await self._drivers.pool.execute(
                PG_FORGET_KEYS, [p[0] for p in pairs], [p[1] for p in pairs]
            )
            return
        writer, lock = self._drivers.writer, self._drivers.write_lock
        assert writer is not None

        def forget() -> None:
            with lock:
                writer.executemany(SQLITE_FORGET_KEY, pairs)

        await asyncio.to_thread(forget)

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
        if self._drivers.pool is not None:
            row = await self._drivers.pool.fetchrow(PG_STORED, scope, key)
        else:
            row = self._drivers.read_one(SQLITE_STORED, (scope, key))
        return Stored(row[0], row[1]) if row is not None else None

    async def _take(self, run_id: int, claims: list[Claim]) -> tuple[int, int, int] | None:
        """One statement taking the batch's steps and storing its keys: (end, rev, sv)."""
        total = sum(c.count for c in claims)
        keyed = [(c, offset) for c, offset in zip(claims, _offsets(claims), strict=True) if c.idem]
        if self._drivers.pool is not None:
            import asyncpg  # only on PostgreSQL, where the pool exists

            try:
                if keyed:
                    row = await self._drivers.pool.fetchrow(
                        PG_ADVANCE_KEYED, run_id, total, *_key_columns(keyed)
                    )
                else:
                    row = await self._drivers.pool.fetchrow(PG_ADVANCE, run_id, total)
            except asyncpg.UniqueViolationError as exc:
                raise KeyConflict(str(exc)) from exc
        else:
            row = await asyncio.to_thread(self._sqlite_take, run_id, total, keyed)
        return (int(row[0]), int(row[1]), int(row[2])) if row is not None else None

    def _sqlite_take(
        self, run_id: int, total: int, keyed: list[tuple[Claim, int]]
    ) -> tuple[Any, ...] | None:
        if not keyed:
            return self._drivers.write_one(SQLITE_ADVANCE, (run_id, total))
        conn = self._drivers.writer
        assert conn is not None
        now = utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")
        with self._drivers.write_lock:
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
