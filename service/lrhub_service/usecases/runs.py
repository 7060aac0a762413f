"""Use cases for runs: get-or-create, restart, read (listing: ``run_list``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from lrhub_service.db.run_store import DuplicateRun
from lrhub_service.engine import Schedule, SpecError, canonical_json, parse_spec
from lrhub_service.engine.errors import MissingBaseLR
from lrhub_service.usecases import events, unit_of_work
from lrhub_service.usecases.compiled import SegmentRecord, build
from lrhub_service.usecases.compute import UNKNOWN_US
from lrhub_service.usecases.errors import Conflict, NotFound, run_not_found
from lrhub_service.usecases.hub import Hub
from lrhub_service.usecases.idempotency import IdemKey
from lrhub_service.usecases.run_json import run_json
from lrhub_service.usecases.spec_errors import invalid_spec
from lrhub_service.usecases.status import STATUS_CREATED, STATUS_RUNNING
from lrhub_service.usecases.unit_of_work import RunWork


def parse_schedule(data: Any, loc: str = "schedule") -> dict[str, Any]:
    """Validate a spec and return its canonical JSON (422 naming the field otherwise)."""
    try:
        return canonical_json(parse_spec(data))
    except SpecError as exc:
        raise invalid_spec(exc, loc) from exc


def describe(
    schedule: Mapping[str, Any],
    base_lrs: Sequence[float] | None,
    base_momentums: Sequence[float] | None,
    steps_per_epoch: int | None,
    loc: str = "schedule",
) -> Schedule | None:
    """Compile a lone spec to learn its shape; None when it needs the optimizer's bases."""
    segment = SegmentRecord(revision=1, start=0, schedule=schedule, clock_offset=0, scale=None)
    try:
        return build([segment], base_lrs, base_momentums, steps_per_epoch)[0]
    except SpecError as exc:
        if base_lrs is None and needs_base_lr(exc):
            return None
        raise invalid_spec(exc, loc) from exc


def needs_base_lr(exc: SpecError) -> bool:
    """Whether a build failed only for want of the optimizer's base values (the engine says
    so by the type ``MissingBaseLR``; this is the one place that asks)."""
    return isinstance(exc, MissingBaseLR)


def _validate(schedule: Any, options: dict[str, Any]) -> tuple[dict[str, Any], Schedule | None]:
    """The canonical spec and its shape (parsed and compiled on the evaluation worker)."""
    canonical = parse_schedule(schedule)
    return canonical, describe(canonical, None, None, options.get("steps_per_epoch"))


async def create_run(
    hub: Hub,
    name: str,
    schedule: Any,
    options: dict[str, Any],
    restart: bool,
    idem: IdemKey | None = None,
) -> tuple[dict[str, Any], bool]:
    """Get-or-create by name; returns (run, created). 409 when the stored spec differs."""
    canonical, shape = await hub.evaluator.run(UNKNOWN_US, "schedule", _validate, schedule, options)

    async def act(work: RunWork) -> tuple[int, dict[str, Any]]:
        existing = await work.rows.by_name(name, lock=True)
        if existing is not None:
            work.run_id = existing.id
            if existing.archived_at is not None:
                raise _archived_name(existing)
            first = await work.records.first_schedule(existing.id)
            _check_same(existing, first, canonical, options)
            if restart:
                existing = await _restart(work, existing.id)
            return 200, run_json(existing)
        run_id = await work.rows.insert(
            name=name,
            schedule=canonical,
            options=options,
            revision=1,
            num_groups=shape.num_groups if shape else None,
            base_lrs=None,
            has_momentum=bool(shape and shape.has_momentum),
            metric_driven=bool(shape and shape.metric_driven),
            progress=0,
            horizon=-1,
            next_step=0,
            state_version=0,
            status=STATUS_CREATED,
        )
        work.run_id = run_id
        await work.records.add_revision(
            run_id,
            revision=1,
            effective_step=0,
            schedule=canonical,
            clock="global",
            continue_value=False,
            clock_offset=0,
            scale=None,
        )
        created = events.EventKind.CREATED
        await events.record(work.records, run_id, created, 0, {"schedule": canonical})
        return 201, run_json(await work.rows.get(run_id))

    for _attempt in range(3):
        try:
            status, run = await unit_of_work.write(hub, None, idem, act)
        except DuplicateRun:
            continue  # another worker created it first: read theirs (or its key's answer)
        return run, status == 201
    raise Conflict(f"run {name!r} is being created concurrently; retry", loc="name")


def _archived_name(row: Any) -> Conflict:
    """Get-or-create never starts an archived run afresh: it says how to go on."""
    return Conflict(
        f"run {row.name!r} (id {row.id}) is archived; unarchive it to continue it "
        f"(POST /v1/runs/{row.id}/unarchive, or: lrhub runs unarchive {row.name}), "
        "or use another name",
        loc="name",
    )


def _check_same(row: Any, first: Any, canonical: dict[str, Any], options: dict[str, Any]) -> None:
    stored = first if first is not None else row.schedule
    if stored != canonical:
        raise Conflict(
            f"run {row.name!r} already exists with a different schedule; use another name, "
            "or revise the run with POST /v1/runs/{id}/revisions",
            loc="schedule",
        )
    if (row.options or {}) != options:
        raise Conflict(
            f"run {row.name!r} already exists with different options "
            f"{row.options!r}; use another name",
            loc="options",
        )


async def _restart(work: RunWork, run_id: int) -> Any:
    """Reset a run to step 0: progress, horizon, counter and metric state."""
    await work.records.uncount_reports(run_id)
    await work.launches.end_launches(run_id)
    await work.rows.update(
        run_id, progress=0, horizon=-1, next_step=0, status=STATUS_RUNNING, clean_exit=None
    )
    await work.new_state_version()
    await events.record(work.records, run_id, events.EventKind.RESTARTED, 0, {})
    return await work.rows.get(run_id)


async def get_run(hub: Hub, run_id: int) -> dict[str, Any]:
    async with hub.reading() as (rows, _records):
        row = await rows.get(run_id)
    if row is None:
        raise run_not_found(run_id)
    return run_json(row)


async def get_run_by_name(hub: Hub, name: str) -> dict[str, Any]:
    async with hub.reading() as (rows, _records):
        row = await rows.by_name(name)
    if row is None:
        raise NotFound(f"no run named {name!r}", loc="name")
    return run_json(row)
