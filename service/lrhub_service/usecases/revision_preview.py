"""Curves of schedules that are not stored: a dry-run revision (validate a new schedule
against a run and preview its curve from the step it would take effect: no revision, no
event, no promise) and a lone spec's curve (the playground)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lrhub_service.engine import SpecError
from lrhub_service.usecases.compiled import SegmentRecord, build
from lrhub_service.usecases.compute import UNKNOWN_US, curve_budget
from lrhub_service.usecases.downsample import SAMPLES, downsample
from lrhub_service.usecases.errors import Archived, Conflict, Invalid, run_not_found
from lrhub_service.usecases.hub import Hub, active_segments, segments_of
from lrhub_service.usecases.plan import planned_steps
from lrhub_service.usecases.revisions import RevisionRequest, plan_revision
from lrhub_service.usecases.run_view import span_for
from lrhub_service.usecases.runs import needs_base_lr, parse_schedule
from lrhub_service.usecases.spec_errors import invalid_spec


async def dry_run(hub: Hub, run_id: int, asked: RevisionRequest, points: int) -> dict[str, Any]:
    """What ``revise`` would do now: the same checks (412, 409, 422 naming the field), the
    effective step and joining factors, and the new curve from the effective step on."""
    canonical = await hub.evaluator.run(UNKNOWN_US, "schedule", parse_schedule, asked.schedule)
    async with hub.reading() as (runs, records):
        run = await runs.get(run_id)
        if run is None:
            raise run_not_found(run_id)
        segments = await segments_of(records, run_id)
    current_span = span_for(run, active_segments(segments))
    if run.archived_at is not None:
        raise Archived(run.id, run.name)
    try:
        compiled = await hub.compiled_fresh(run_id, run.revision, run.state_version)
    except Conflict:
        compiled = None  # no base values yet
    async with hub.reading() as (_runs, records):
        planned = await plan_revision(hub, run, records, compiled, canonical, asked)
    effective = planned.segment.start
    own = planned_steps(canonical, (run.options or {}).get("steps_per_epoch"))
    end = max(current_span, effective + 1, (own or 0) + planned.segment.clock_offset)
    trial, found = planned.trial, planned.cost
    if planned.scale is not None:  # ``continue``: draw the joined curve the run would get
        joined = replace(planned.segment, scale=planned.scale)
        args = (run.base_lrs, run.base_momentums, (run.options or {}).get("steps_per_epoch"))
        trial, found = await hub.evaluator.run(
            UNKNOWN_US, "schedule", build, active_segments([*segments, joined]), *args
        )
    curve = None
    if trial is not None and found is not None:
        samples, cost = curve_budget(found, trial.num_groups, points, SAMPLES)
        curve = await hub.evaluator.run(
            cost, "points", downsample, trial, effective, end, points, samples
        )
    return {
        "stored": False,
        "revision": planned.segment.revision,
        "effective_step": effective,
        "schedule": canonical,
        "scale": planned.scale,
        "curve": curve,
    }


def _spec_curve(
    canonical: dict[str, Any],
    steps: int,
    points: int,
    base_lrs: list[float] | None,
    base_momentums: list[float] | None,
    steps_per_epoch: int | None,
) -> dict[str, Any]:
    """Build a lone spec and downsample its first ``steps`` values (on the worker)."""
    segment = SegmentRecord(revision=1, start=0, schedule=canonical, clock_offset=0, scale=None)
    try:
        schedule, found = build([segment], base_lrs, base_momentums, steps_per_epoch)
    except SpecError as exc:
        if needs_base_lr(exc):
            raise Invalid(
                "this schedule has no base_lr: give base_lrs (or base_lr in the spec)",
                loc="base_lrs",
            ) from exc
        raise invalid_spec(exc, "schedule", built=True) from exc
    samples, _cost = curve_budget(found, schedule.num_groups, points, SAMPLES)
    return downsample(schedule, 0, steps, points, samples)


async def spec_curve(
    hub: Hub,
    schedule: Any,
    steps: int,
    points: int,
    base_lrs: list[float] | None,
    base_momentums: list[float] | None,
    steps_per_epoch: int | None,
) -> dict[str, Any]:
    """A spec's curve over its first ``steps`` steps in ``points`` buckets, stored nowhere
    (the playground's preview; its cost follows ``points``, not ``steps``)."""
    canonical = await hub.evaluator.run(UNKNOWN_US, "schedule", parse_schedule, schedule)
    return await hub.evaluator.run(
        UNKNOWN_US,
        "points",
        _spec_curve,
        canonical,
        steps,
        points,
        base_lrs,
        base_momentums,
        steps_per_epoch,
    )
