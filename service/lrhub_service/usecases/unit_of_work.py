"""The one write path: every change to a run goes through ``write`` (or ``take_steps``).

A use case says *what* changes, in an ``act(work)`` callable given a ``RunWork``; the unit of
work does the rest, the same way for every write:

1. opens the transaction and locks the run's row (``SELECT ... FOR UPDATE``; SQLite's
   ``BEGIN IMMEDIATE`` serialises writers);
2. looks the Idempotency-Key up (after the lock, so a concurrent duplicate waits) and
   replays a stored answer; then refuses (409) any other write to an archived run, unless
   the write is one of the lifecycle's own (``archived_ok``);
3. runs ``act``; ``work.new_state_version()`` bumps the version of the run's value inputs;
4. sends the change notice (``NOTIFY``, delivered at commit) when values changed, and
   remembers the answer under the key, both in the same transaction;
5. after commit, and only then, drops the caches that could hold the old values and keeps
   the compiled run the write produced.

The shared counter (``take_steps``) is the same unit of work batched: concurrent advances
of one run share one statement that takes their steps and stores their keys in the same
idempotency store (``RunStore``'s fast path).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from lrhub_service.db import statements
from lrhub_service.db.launch_rows import LaunchRows
from lrhub_service.db.records import RunRecords
from lrhub_service.db.run_store import Claim, Outcome, RunRows
from lrhub_service.usecases.compiled import CompiledRun
from lrhub_service.usecases.errors import Archived, Unavailable, run_not_found
from lrhub_service.usecases.hub import Hub
from lrhub_service.usecases.idempotency import HEADER, IdemKey, mismatch

ATTEMPTS = 3


class RunWork:
    """A write in progress: its statements, its locked run row, and what it changed."""

    def __init__(self, hub: Hub, rows: RunRows, records: RunRecords, launches: LaunchRows) -> None:
        self.hub = hub
        self.rows = rows
        self.records = records
        self.launches = launches
        self.run: Any = None  # the locked row, when the write names a run
        self.run_id: int | None = None
        self.values_changed = False
        self.compiled: CompiledRun | None = None

    async def new_state_version(self) -> int:
        """Bump the version of the run's value inputs (metric state, base values)."""
        assert self.run_id is not None
        self.values_changed = True
        return await self.rows.bump_state_version(self.run_id)

    def changed_values(self) -> None:
        """The run's values changed by a version of its own (a revision, a restart)."""
        self.values_changed = True

    def keep(self, compiled: CompiledRun | None) -> None:
        """Cache this compiled run after commit (it matches the committed versions)."""
        self.compiled = compiled

    async def compiled_run(self, revision: int, state_version: int) -> CompiledRun:
        """The compiled run for these versions, read inside this transaction."""
        assert self.run_id is not None
        return await self.hub.compiled_in(
            self.rows, self.records, self.run_id, revision, state_version
        )


Act = Callable[[RunWork], Awaitable[tuple[int, Any]]]


class _Replay(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(status)
        self.status, self.body = status, body


class _KeyTaken(Exception):
    """A concurrent request stored this key first."""


async def write(
    hub: Hub, run_id: int | None, idem: IdemKey | None, act: Act, *, archived_ok: bool = False
) -> tuple[int, Any]:
    """Run ``act`` as one write to run ``run_id`` (None: it creates one); (status, body).

    A write to an archived run is a 409 unless ``archived_ok`` (archive, unarchive, delete).
    """
    for _attempt in range(ATTEMPTS):
        try:
            return await _attempt_write(hub, run_id, idem, act, archived_ok)
        except _Replay as replay:
            return replay.status, orjson.loads(replay.body)
        except _KeyTaken:
            continue  # the duplicate committed: the next attempt replays its answer
    assert idem is not None
    raise Unavailable(f"{HEADER} {idem.key!r} is being used concurrently; retry", loc=HEADER)


async def _attempt_write(
    hub: Hub, run_id: int | None, idem: IdemKey | None, act: Act, archived_ok: bool
) -> tuple[int, Any]:
    async with statements.transaction(hub.db) as bound:
        work = RunWork(hub, bound.runs, bound.records, bound.launches)
        if run_id is not None:
            work.run = await work.rows.get(run_id, lock=True)
            if work.run is None:
                raise run_not_found(run_id)
            work.run_id = run_id
        if idem is not None:
            stored = await bound.keys.find(idem.scope, idem.key)
            if stored is not None:
                if stored.fingerprint != idem.fingerprint:
                    raise mismatch(idem)
                raise _Replay(stored.status, stored.body)
        if work.run is not None and work.run.archived_at is not None and not archived_ok:
            raise Archived(work.run.id, work.run.name)
        status, body = await act(work)
        if work.values_changed and work.run_id is not None:
            await work.rows.notify_changed(work.run_id)
        if idem is not None:
            answer = orjson.dumps(body).decode()
            if not await bound.keys.store(idem.scope, idem.key, idem.fingerprint, status, answer):
                raise _KeyTaken(idem.key)
    _after_commit(hub, work)
    return status, body


def _after_commit(hub: Hub, work: RunWork) -> None:
    """Invalidate what could hold the old state, now that the new one is durable."""
    if work.run_id is None:
        return
    hub.fast.forget(work.run_id)
    if work.values_changed:
        hub.cache.drop(work.run_id)
    if work.compiled is not None:
        hub.cache.put(work.compiled)


async def take_steps(hub: Hub, run_id: int, count: int, idem: IdemKey | None) -> Outcome:
    """Take ``count`` steps of the shared counter (batched with concurrent advances).

    The key is stored by the batch's own statement; a refused block takes nothing. The
    counter's statement skips an archived run, so an archived run is a 409 (no step taken).
    """
    idem_columns = (idem.scope, idem.key, idem.fingerprint) if idem is not None else None
    outcome = await hub.fast.advance(run_id, Claim(count, idem_columns))
    if outcome is None:
        async with hub.reading() as (rows, _records):
            row = await rows.get(run_id)
        if row is not None and row.archived_at is not None:
            raise Archived(row.id, row.name)
        raise run_not_found(run_id)
    return outcome


async def promise(
    hub: Hub, run_id: int, last: int, revision: int, state_version: int
) -> int | None:
    """Extend the horizon to ``last`` while the run is at these versions (a window's promise)."""
    return await hub.fast.promise(run_id, last, revision, state_version)
