"""Use-cases for revisions: replace a run's schedule from a future step.

A promise is never broken: the effective step is ``max(from_step, horizon + 1)``. With
``continue`` the new segment is scaled so its value at the effective step equals the old
one (no jump). ``expected_revision`` (or If-Match) guards against concurrent editors.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import insert, select, update

from lrhub_service.db.listener import announce
from lrhub_service.db.models import Revision, Run, utcnow
from lrhub_service.engine import Schedule, SpecError
from lrhub_service.usecases import events
from lrhub_service.usecases.compiled import CompiledRun, SegmentRecord, build
from lrhub_service.usecases.compute import run_cost, spec_weight
from lrhub_service.usecases.errors import Conflict, Invalid, PreconditionFailed, run_not_found
from lrhub_service.usecases.hub import Hub, active_segments, load_compiled
from lrhub_service.usecases.idempotency import IdemKey, lookup, once, remember
from lrhub_service.usecases.runs import RUN_COLUMNS, parse_schedule, run_json
from lrhub_service.usecases.timefmt import iso


def _continue_scale(compiled: CompiledRun, trial: Schedule, start: int) -> list[float]:
    """Per-group factors so the new schedule starts at the old value (no jump)."""
    old_values = compiled.schedule.values(start, compiled.folded.at(start)).lrs
    new_values = trial.values(start, trial.initial_state()).lrs
    scale = []
    for group, (old, value) in enumerate(zip(old_values, new_values, strict=True)):
        factor = old / value if value else math.inf
        if not math.isfinite(factor) or factor <= 0:
            raise Invalid(
                f"cannot continue from the current value: the new schedule gives group {group} "
                f'lr={value} at step {start}; send "continue": false',
                loc="continue",
            )
        scale.append(factor)
    return scale


def _needs_bases(exc: SpecError) -> bool:
    return all(e["loc"].endswith("base_lr") for e in exc.errors)


def _invalid(exc: SpecError) -> Invalid:
    errors = [
        {"loc": f"schedule.{e['loc']}" if e["loc"] else "schedule", "msg": e["msg"]}
        for e in exc.errors
    ]
    return Invalid(exc.detail, errors=errors)


async def revise(
    hub: Hub,
    run_id: int,
    schedule: Any,
    *,
    from_step: int | None,
    continue_value: bool,
    clock: str,
    expected_revision: int | None,
    idem: IdemKey | None = None,
) -> dict[str, Any]:
    """Add a revision; 412 when ``expected_revision`` is stale (a keyed retry replays)."""
    canonical = await hub.evaluator.run(
        spec_weight([schedule]).nodes, "schedule", parse_schedule, schedule
    )

    async def act() -> tuple[int, dict[str, Any]]:
        async with hub.db.transaction() as conn:
            query = select(*RUN_COLUMNS).where(Run.id == run_id)
            if not hub.db.is_sqlite:
                query = query.with_for_update()
            run = (await conn.execute(query)).first()
            if run is None:
                raise run_not_found(run_id)
            await lookup(conn, idem)
            if expected_revision is not None and expected_revision != run.revision:
                raise PreconditionFailed(
                    f"run {run_id} is at revision {run.revision}, not {expected_revision}: "
                    "someone else revised it; reload and retry",
                    loc="expected_revision",
                )
            earliest = run.horizon + 1
            effective = earliest if from_step is None else max(from_step, earliest)
            compiled: CompiledRun | None
            try:
                compiled = await hub.compiled(conn, run_id, run.revision, run.state_version)
            except Conflict:
                compiled = None  # no base values yet: there is no current value to continue from
            segments = await _segments(conn, run_id)
            new = SegmentRecord(
                revision=run.revision + 1,
                start=effective,
                schedule=canonical,
                clock_offset=effective if clock == "restart" else 0,
                scale=None,
            )
            spe = (run.options or {}).get("steps_per_epoch")
            try:
                active = active_segments([*segments, new])
                cost = spec_weight(segment.schedule for segment in active).nodes
                trial: Schedule | None = await hub.evaluator.run(
                    cost, "schedule", build, active, run.base_lrs, run.base_momentums, spe
                )
            except SpecError as exc:
                if compiled is not None or not _needs_bases(exc):
                    raise _invalid(exc) from exc
                trial = None
            scale = None
            if continue_value and compiled is not None and trial is not None and effective > 0:
                cost = run_cost(compiled, effective, 2)  # the old and the new value
                scale = await hub.evaluator.run(
                    cost, "from_step", _continue_scale, compiled, trial, effective
                )
            now = utcnow()
            await conn.execute(
                insert(Revision).values(
                    run_id=run_id,
                    revision=new.revision,
                    effective_step=effective,
                    schedule=canonical,
                    clock=clock,
                    continue_value=continue_value,
                    clock_offset=new.clock_offset,
                    scale=scale,
                    created_at=now,
                )
            )
            await conn.execute(
                update(Run)
                .where(Run.id == run_id)
                .values(revision=new.revision, schedule=canonical, updated_at=now)
            )
            try:
                fresh: CompiledRun | None = await load_compiled(conn, run_id, hub.evaluator)
            except Conflict:
                fresh = None  # still waiting for the first attach's base values
            if fresh is not None:
                await conn.execute(
                    update(Run)
                    .where(Run.id == run_id)
                    .values(
                        has_momentum=fresh.schedule.has_momentum,
                        metric_driven=fresh.schedule.metric_driven,
                    )
                )
            await events.record(
                conn,
                run_id,
                "revised",
                effective,
                {
                    "revision": new.revision,
                    "from_step": from_step,
                    "continue": continue_value,
                    "clock": clock,
                    "scale": scale,
                },
            )
            await announce(conn, run_id, is_sqlite=hub.db.is_sqlite)
            row = (await conn.execute(select(*RUN_COLUMNS).where(Run.id == run_id))).one()
            body = {"revision": new.revision, "effective_step": effective, "run": run_json(row)}
            await remember(conn, idem, 201, body)
        hub.fast.forget(run_id)
        if fresh is not None:
            hub.cache.put(fresh)
        return 201, body

    return (await once(hub.db, idem, act))[1]  # type: ignore[no-any-return]


async def _segments(conn: Any, run_id: int) -> list[SegmentRecord]:
    rows = await conn.execute(
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
    return [
        SegmentRecord(r.revision, r.effective_step, r.schedule, r.clock_offset, r.scale)
        for r in rows
    ]


async def list_revisions(hub: Hub, run_id: int) -> dict[str, Any]:
    """Every revision of a run, oldest first."""
    async with hub.db.autocommit() as conn:
        if (await conn.execute(select(Run.id).where(Run.id == run_id))).first() is None:
            raise run_not_found(run_id)
        rows = (
            await conn.execute(
                select(
                    Revision.revision,
                    Revision.effective_step,
                    Revision.schedule,
                    Revision.clock,
                    Revision.continue_value,
                    Revision.scale,
                    Revision.created_at,
                )
                .where(Revision.run_id == run_id)
                .order_by(Revision.revision)
            )
        ).all()
    return {
        "items": [
            {
                "revision": r.revision,
                "effective_step": r.effective_step,
                "schedule": r.schedule,
                "clock": r.clock,
                "continue": r.continue_value,
                "scale": r.scale,
                "created_at": iso(r.created_at),
            }
            for r in rows
        ]
    }
