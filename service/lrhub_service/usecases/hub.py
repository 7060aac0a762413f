"""The per-process service state shared by use-cases: settings, database, caches."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlalchemy.types import BigInteger

from lrhub_service.db.engine import Database
from lrhub_service.db.fastpath import FastPath
from lrhub_service.db.models import Report, Revision, Run
from lrhub_service.engine import SpecError
from lrhub_service.settings import Settings
from lrhub_service.usecases.compiled import (
    CompiledRun,
    FoldedState,
    FoldGroup,
    RunCache,
    SegmentRecord,
    build,
    fold_groups,
    group_reports,
)
from lrhub_service.usecases.compute import Evaluator, Limits, spec_weight
from lrhub_service.usecases.errors import Conflict, run_not_found
from lrhub_service.usecases.idempotency import Pruner


class greatest(FunctionElement[int]):
    """``GREATEST(a, b)`` on PostgreSQL, ``max(a, b)`` on SQLite."""

    type = BigInteger()
    inherit_cache = True


@compiles(greatest)
def _greatest_default(element: greatest, compiler: Any, **kw: Any) -> str:
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


@compiles(greatest, "sqlite")
def _greatest_sqlite(element: greatest, compiler: Any, **kw: Any) -> str:
    return f"max({compiler.process(element.clauses, **kw)})"


class Hub:
    """Everything a request needs besides its own input."""

    def __init__(self, settings: Settings, db: Database, fast: FastPath) -> None:
        self.settings = settings
        self.db = db
        self.fast = fast
        self.cache = RunCache()
        self.pruner = Pruner(db, settings.idempotency_ttl_s)
        self.evaluator = Evaluator(Limits.from_settings(settings))
        self._loading: dict[int, asyncio.Lock] = {}

    async def compiled(
        self, conn: AsyncConnection, run_id: int, revision: int, state_version: int
    ) -> CompiledRun:
        """The compiled run for exactly this revision and state version (cached)."""
        hit = self.cache.get(run_id, revision, state_version)
        if hit is not None:
            return hit
        item = await load_compiled(conn, run_id, self.evaluator)
        self.cache.put(item)
        return item

    async def compiled_fresh(self, run_id: int, revision: int, state_version: int) -> CompiledRun:
        """Like ``compiled`` but opens its own connection on a cache miss."""
        hit = self.cache.get(run_id, revision, state_version)
        if hit is not None:
            return hit
        lock = self._loading.setdefault(run_id, asyncio.Lock())
        async with lock:  # one load per run at a time; the others then find it cached
            hit = self.cache.get(run_id, revision, state_version)
            if hit is not None:
                return hit
            async with self.db.autocommit() as conn:
                return await self.compiled(conn, run_id, revision, state_version)


RUN_FIELDS: tuple[ColumnElement[Any], ...] = (
    Run.id,
    Run.revision,
    Run.state_version,
    Run.base_lrs,
    Run.base_momentums,
    Run.options,
)


def active_segments(segments: list[SegmentRecord]) -> list[SegmentRecord]:
    """Revisions in order, dropping any that a later revision replaced before it began."""
    active: list[SegmentRecord] = []
    for segment in segments:
        while active and active[-1].start >= segment.start:
            active.pop()
        active.append(segment)
    return active


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No garbage collection inside: for bulk work that makes many acyclic objects."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def stored_groups(conn: AsyncConnection, run_id: int) -> list[FoldGroup]:
    """A run's counted reports as fold groups, in fold order."""
    rows = await conn.execute(
        select(
            Report.effective_step,
            Report.step,
            Report.version,
            Report.metric,
            Report.value,
            Report.special,
        )
        .where(Report.run_id == run_id, Report.counted.is_(True))
        .order_by(Report.effective_step, Report.step, Report.version, Report.id)
    )
    with gc_paused():
        return group_reports(rows)


async def load_compiled(
    conn: AsyncConnection, run_id: int, evaluator: Evaluator | None = None
) -> CompiledRun:
    """Read a run's revisions and counted reports and compile them (409 without bases)."""
    row = (await conn.execute(select(*RUN_FIELDS).where(Run.id == run_id))).first()
    if row is None:
        raise run_not_found(run_id)
    revisions = (
        await conn.execute(
            select(
                Revision.revision,
                Revision.effective_step,
                Revision.schedule,
                Revision.clock_offset,
                Revision.scale,
            )
            .where(Revision.run_id == run_id)
            .order_by(Revision.revision)
        )
    ).all()
    segments = [
        SegmentRecord(
            revision=r.revision,
            start=r.effective_step,
            schedule=r.schedule,
            clock_offset=r.clock_offset,
            scale=r.scale,
        )
        for r in revisions
    ]
    segments = active_segments(segments)
    options = row.options or {}
    weight = spec_weight(segment.schedule for segment in segments)
    try:
        args = (segments, row.base_lrs, row.base_momentums, options.get("steps_per_epoch"))
        if evaluator is None:
            schedule = build(*args)
        else:  # compiling costs about what one value costs: off the loop when it is big
            schedule = await evaluator.run(weight.nodes, "schedule", build, *args)
    except SpecError as exc:
        raise Conflict(
            f"run {run_id} cannot be evaluated yet: {exc.detail}", loc="base_lrs"
        ) from exc
    folded = FoldedState(initial=schedule.initial_state())
    if schedule.metric_driven:
        groups = await stored_groups(conn, run_id)
        with gc_paused():  # the fold makes many small acyclic objects: no cycles
            folded = fold_groups(schedule, folded, groups)
    return CompiledRun(
        run_id=run_id,
        revision=row.revision,
        state_version=row.state_version,
        schedule=schedule,
        folded=folded,
        report_interval=int(options.get("report_interval") or 1),
        weight=weight,
    )
