"""Use-cases for revisions: replace a run's schedule from a future step.

A promise is never broken: the effective step is ``max(from_step, horizon + 1)``. With
``continue`` the new segment is scaled so its value at the effective step equals the old
one (no jump). ``expected_revision`` (or If-Match) guards against concurrent editors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from lrhub_service.engine import Schedule, SpecCost, SpecError
from lrhub_service.usecases import events, unit_of_work
from lrhub_service.usecases.compiled import CompiledRun, SegmentRecord, build
from lrhub_service.usecases.compute import UNKNOWN_US, request_us
from lrhub_service.usecases.errors import Conflict, Invalid, PreconditionFailed, run_not_found
from lrhub_service.usecases.hub import Hub, active_segments, load_compiled, segments_of
from lrhub_service.usecases.idempotency import IdemKey
from lrhub_service.usecases.run_json import run_json
from lrhub_service.usecases.runs import needs_base_lr, parse_schedule
from lrhub_service.usecases.spec_errors import invalid_spec
from lrhub_service.usecases.timefmt import iso
from lrhub_service.usecases.unit_of_work import RunWork


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


@dataclass(frozen=True)
class RevisionRequest:
    """What a revision asks for (the write and its dry run take the same)."""

    schedule: Any
    from_step: int | None = None
    from_step_exact: bool = False
    continue_value: bool = True
    clock: str = "global"
    expected_revision: int | None = None


@dataclass(frozen=True)
class PlannedRevision:
    """A revision worked out but not stored: its segment, the schedule it builds (None while
    the run waits for its first base values) and the factors that join it (``continue``)."""

    segment: SegmentRecord
    trial: Schedule | None
    cost: SpecCost | None
    scale: list[float] | None


def _check_revision(run: Any, expected_revision: int | None) -> None:
    if expected_revision is not None and expected_revision != run.revision:
        raise PreconditionFailed(
            f"run {run.id} is at revision {run.revision}, not {expected_revision}: "
            "someone else revised it; reload and retry",
            loc="expected_revision",
        )


def _effective_step(run: Any, from_step: int | None, exact: bool) -> int:
    """``max(from_step, horizon + 1)``; with ``exact``, a promised ``from_step`` is a 409."""
    earliest = run.horizon + 1
    if exact and from_step is not None and from_step < earliest:
        raise Conflict(
            f"step {from_step} has been promised to a worker meanwhile (the run's horizon is "
            f"{run.horizon}); the earliest step a revision can take effect is now {earliest}: "
            f"preview again from step {earliest}",
            loc="from_step",
        )
    return earliest if from_step is None else max(from_step, earliest)


async def plan_revision(
    hub: Hub,
    run: Any,
    records: Any,
    compiled: CompiledRun | None,
    canonical: dict[str, Any],
    asked: RevisionRequest,
) -> PlannedRevision:
    """Work out a revision of ``run`` (validated, built, joined) without storing it."""
    _check_revision(run, asked.expected_revision)
    effective = _effective_step(run, asked.from_step, asked.from_step_exact)
    clock = asked.clock
    segments = await segments_of(records, run.id)
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
        trial: Schedule | None
        cost: SpecCost | None
        trial, cost = await hub.evaluator.run(
            UNKNOWN_US, "schedule", build, active, run.base_lrs, run.base_momentums, spe
        )
    except SpecError as exc:
        if compiled is not None or not needs_base_lr(exc):
            raise invalid_spec(exc) from exc
        trial, cost = None, None
    scale = None
    if asked.continue_value and compiled is not None and trial is not None and effective > 0:
        cost = request_us(compiled, 2)  # the old and the new value
        scale = await hub.evaluator.run(
            cost, "from_step", _continue_scale, compiled, trial, effective
        )
    return PlannedRevision(new, trial, cost, scale)


async def revise(
    hub: Hub, run_id: int, asked: RevisionRequest, idem: IdemKey | None = None
) -> dict[str, Any]:
    """Add a revision; 412 when ``expected_revision`` is stale (a keyed retry replays)."""
    canonical = await hub.evaluator.run(UNKNOWN_US, "schedule", parse_schedule, asked.schedule)
    clock, continue_value, from_step = asked.clock, asked.continue_value, asked.from_step

    async def act(work: RunWork) -> tuple[int, dict[str, Any]]:
        run = work.run
        compiled: CompiledRun | None
        try:
            compiled = await work.compiled_run(run.revision, run.state_version)
        except Conflict:
            compiled = None  # no base values yet: there is no current value to continue from
        planned = await plan_revision(hub, run, work.records, compiled, canonical, asked)
        new, scale, effective = planned.segment, planned.scale, planned.segment.start
        await work.records.add_revision(
            run_id,
            revision=new.revision,
            effective_step=effective,
            schedule=canonical,
            clock=clock,
            continue_value=continue_value,
            clock_offset=new.clock_offset,
            scale=scale,
        )
        await work.rows.update(run_id, revision=new.revision, schedule=canonical)
        work.changed_values()
        try:
            fresh: CompiledRun | None = await load_compiled(
                work.rows, work.records, run_id, hub.evaluator
            )
        except Conflict:
            fresh = None  # still waiting for the first attach's base values
        if fresh is not None:
            await work.rows.update(
                run_id,
                has_momentum=fresh.schedule.has_momentum,
                metric_driven=fresh.schedule.metric_driven,
            )
        work.keep(fresh)
        await events.record(
            work.records,
            run_id,
            events.EventKind.REVISED,
            effective,
            {
                "revision": new.revision,
                "from_step": from_step,
                "continue": continue_value,
                "clock": clock,
                "scale": scale,
            },
        )
        row = await work.rows.get(run_id)
        return 201, {"revision": new.revision, "effective_step": effective, "run": run_json(row)}

    return (await unit_of_work.write(hub, run_id, idem, act))[1]  # type: ignore[no-any-return]


async def list_revisions(hub: Hub, run_id: int) -> dict[str, Any]:
    """Every revision of a run, oldest first."""
    async with hub.reading() as (runs, records):
        if await runs.get(run_id) is None:
            raise run_not_found(run_id)
        rows = await records.revisions(run_id)
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
