"""The per-process service state shared by use cases: settings, database, caches."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from lrhub_service.db import statements
from lrhub_service.db.engine import Database
from lrhub_service.db.records import RunRecords
from lrhub_service.db.run_store import FastRuns, RunRows
from lrhub_service.engine import SpecError
from lrhub_service.settings import Settings
from lrhub_service.usecases import replay
from lrhub_service.usecases.compiled import CompiledRun, RunCache, SegmentRecord, build
from lrhub_service.usecases.compute import UNKNOWN_US, Evaluator, Limits
from lrhub_service.usecases.errors import Conflict, run_not_found
from lrhub_service.usecases.folding import FoldedState
from lrhub_service.usecases.idempotency import Pruner


class Hub:
    """Everything a request needs besides its own input."""

    def __init__(self, settings: Settings, db: Database, fast: FastRuns) -> None:
        self.settings = settings
        self.db = db
        self.fast = fast
        self.cache = RunCache()
        self.pruner = Pruner(db, settings.idempotency_ttl_s)
        self.evaluator = Evaluator(Limits.from_settings(settings))
        self._loading: dict[int, asyncio.Lock] = {}
        fast.check = self.first_bad_step

    async def first_bad_step(
        self, run_id: int, first: int, count: int, revision: int, state_version: int
    ) -> tuple[int, str] | None:
        """The first step of a block taken from the counter that cannot be evaluated."""
        compiled = await self.compiled_fresh(run_id, revision, state_version)
        return compiled.first_bad_step(first, count)

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[tuple[RunRows, RunRecords]]:
        """The run store's statements for a read (each commits by itself: it changes nothing)."""
        async with statements.autocommitted(self.db) as bound:
            yield bound.runs, bound.records

    async def compiled_in(
        self, rows: RunRows, records: RunRecords, run_id: int, revision: int, state_version: int
    ) -> CompiledRun:
        """The compiled run for exactly this revision and state version, read with ``rows``.

        A cache miss inside a write is not cached here: the unit of work keeps what the
        write produced after commit.
        """
        hit = self.cache.get(run_id, revision, state_version)
        if hit is not None:
            return hit
        return await load_compiled(rows, records, run_id, self.evaluator, write=True)

    async def compiled_fresh(self, run_id: int, revision: int, state_version: int) -> CompiledRun:
        """The compiled run for these versions, read on a connection of its own (cached)."""
        hit = self.cache.get(run_id, revision, state_version)
        if hit is not None:
            return hit
        lock = self._loading.setdefault(run_id, asyncio.Lock())
        async with lock:  # one load per run at a time; the others then find it cached
            hit = self.cache.get(run_id, revision, state_version)
            if hit is not None:
                return hit
            async with self.reading() as (rows, records):
                item = await load_compiled(rows, records, run_id, self.evaluator)
            self.cache.put(item)  # read from committed rows: safe to share (the newest wins)
            return item


def active_segments(segments: list[SegmentRecord]) -> list[SegmentRecord]:
    """Revisions in order, dropping any that a later revision replaced before it began."""
    active: list[SegmentRecord] = []
    for segment in segments:
        while active and active[-1].start >= segment.start:
            active.pop()
        active.append(segment)
    return active


async def segments_of(records: RunRecords, run_id: int) -> list[SegmentRecord]:
    """A run's stored revisions as engine segments, oldest first."""
    return [
        SegmentRecord(r.revision, r.effective_step, r.schedule, r.clock_offset, r.scale)
        for r in await records.revisions(run_id)
    ]


async def load_compiled(
    rows: RunRows,
    records: RunRecords,
    run_id: int,
    evaluator: Evaluator | None = None,
    *,
    write: bool = False,
) -> CompiledRun:
    """Read a run's revisions and counted reports and compile them (409 without bases).

    The reports are replayed from the latest fold snapshot (``usecases.replay``); ``write``
    (inside a unit of work) stores new snapshots along the way.
    """
    row = await rows.get(run_id)
    if row is None:
        raise run_not_found(run_id)
    segments = active_segments(await segments_of(records, run_id))
    options = row.options or {}
    try:
        args = (segments, row.base_lrs, row.base_momentums, options.get("steps_per_epoch"))
        if evaluator is None:
            schedule, cost = build(*args)
        else:  # parsing and compiling: its cost is known once parsed, so off the loop
            schedule, cost = await evaluator.run(UNKNOWN_US, "schedule", build, *args)
    except SpecError as exc:
        raise Conflict(
            f"run {run_id} cannot be evaluated yet: {exc.detail}", loc="base_lrs"
        ) from exc
    folded, replayed = FoldedState(initial=schedule.initial_state()), 0
    if schedule.metric_driven:
        folded, replayed = await replay.replay(
            records, run_id, row.revision, schedule, evaluator, write=write
        )
    return CompiledRun(
        run_id=run_id,
        revision=row.revision,
        state_version=row.state_version,
        schedule=schedule,
        folded=folded,
        report_interval=int(options.get("report_interval") or 1),
        cost=cost,
        replayed=replayed,
    )
