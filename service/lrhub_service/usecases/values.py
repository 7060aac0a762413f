"""Use-cases for values: one step, a window, the shared counter, progress."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import update

from lrhub_service.db.fastpath import Claim, Freshness, Stored
from lrhub_service.db.models import Run, utcnow
from lrhub_service.usecases.compiled import CompiledRun
from lrhub_service.usecases.errors import Unavailable, run_not_found
from lrhub_service.usecases.hub import Hub, greatest
from lrhub_service.usecases.idempotency import IdemKey, lookup, mismatch, once, remember
from lrhub_service.usecases.workers import touch_worker

STALE_RETRIES = 8


def value_json(compiled: CompiledRun, step: int) -> dict[str, Any]:
    """The public ``Value`` at ``step``."""
    values = compiled.schedule.values(step, compiled.folded.at(step))
    lrs = list(values.lrs)
    momentums = list(values.momentums) if values.momentums is not None else None
    return {
        "step": step,
        "lr": lrs[0],
        "lrs": lrs,
        "momentum": momentums[0] if momentums else None,
        "momentums": momentums,
        "revision": compiled.revision,
    }


def columns(
    compiled: CompiledRun, start: int, count: int
) -> tuple[list[list[float]], list[list[float]] | None]:
    """Per-group columns for ``count`` steps from ``start``, across metric-state changes."""
    lrs: list[list[float]] | None = None
    momentums: list[list[float]] | None = None
    step, end = start, start + count
    while step < end:
        change = compiled.folded.next_change(step)
        stop = end if change is None else min(end, change)
        part_lrs, part_moms = compiled.schedule.window(step, stop - step, compiled.folded.at(step))
        if lrs is None:
            lrs = part_lrs.tolist()
            momentums = part_moms.tolist() if part_moms is not None else None
        else:
            for column, part in zip(lrs, part_lrs.tolist(), strict=True):
                column.extend(part)
            if momentums is not None and part_moms is not None:
                for column, part in zip(momentums, part_moms.tolist(), strict=True):
                    column.extend(part)
        step = stop
    assert lrs is not None
    return lrs, momentums


def window_json(compiled: CompiledRun, start: int, count: int, horizon: int = -1) -> dict[str, Any]:
    """The public ``Window`` of exactly ``count`` steps from ``start``."""
    lrs, momentums = columns(compiled, start, count)
    return {
        "start": start,
        "count": count,
        "revision": compiled.revision,
        "lrs": lrs,
        "momentums": momentums,
        "next_report": compiled.next_report(start, horizon),
        "stop": compiled.folded.at(start).stopped,
    }


def window_count(compiled: CompiledRun, start: int, count: int, horizon: int = -1) -> int:
    """``count`` clipped so a metric-driven window stops before its next report point."""
    next_report = compiled.next_report(start, horizon)
    if next_report is not None:
        count = min(count, next_report - start)
    return max(count, 1)


async def _freshness(hub: Hub, run_id: int) -> Freshness:
    row = await hub.fast.freshness(run_id)
    if row is None:
        raise run_not_found(run_id)
    return row


async def read_value(hub: Hub, run_id: int, step: int) -> dict[str, Any]:
    """Values at one step (a read: promises nothing, moves no horizon)."""
    row = await _freshness(hub, run_id)
    compiled = await hub.compiled_fresh(run_id, row.revision, row.state_version)
    return value_json(compiled, step)


def window_payload(compiled: CompiledRun, start: int, count: int, horizon: int) -> bytes:
    """The rendered ``Window`` JSON, cached per compiled run (revision and state version)."""
    span = window_count(compiled, start, count, horizon)
    key = (start, span, compiled.next_report(start, horizon))
    payload = compiled.windows.get(key)
    if payload is None:
        payload = orjson.dumps(window_json(compiled, start, span, horizon))
        compiled.remember_window(key, payload)
    return payload


async def read_window(hub: Hub, run_id: int, start: int, count: int) -> tuple[bytes, int]:
    """A rendered window and its revision; extends the run's horizon to its last step.

    The horizon only moves if the run is still at the revision and state version the
    values were computed from; otherwise the window is recomputed.
    """
    count = min(count, hub.settings.window_max)
    for _attempt in range(STALE_RETRIES):
        row = await _freshness(hub, run_id)
        compiled = await hub.compiled_fresh(run_id, row.revision, row.state_version)
        span = window_count(compiled, start, count, row.horizon)
        payload = window_payload(compiled, start, span, row.horizon)
        last = start + span - 1
        if last <= row.horizon:
            return payload, compiled.revision
        if await hub.fast.promise(run_id, last, row.revision, row.state_version) is not None:
            return payload, compiled.revision
        hub.fast.forget(run_id)  # the run moved on: read its versions from the database
    raise Unavailable("the run changed too often while reading a window; retry", loc="run_id")


async def advance(hub: Hub, run_id: int, count: int, idem: IdemKey | None = None) -> dict[str, Any]:
    """Atomically take the next ``count`` steps of the shared counter and return their values.

    With an idempotency key, a retry gets the block its first attempt took (re-rendered:
    handed-out steps keep their values, except across a resume or restart).
    """
    if hub.cache.peek(run_id) is None:  # make sure the run can be evaluated before taking
        row = await _freshness(hub, run_id)
        await hub.compiled_fresh(run_id, row.revision, row.state_version)
    idem_columns = (idem.scope, idem.key, idem.fingerprint) if idem is not None else None
    outcome = await hub.fast.advance(run_id, Claim(count, idem_columns))
    if outcome is None:
        raise run_not_found(run_id)
    if isinstance(outcome, Stored):
        assert idem is not None
        if outcome.fingerprint != idem.fingerprint:
            raise mismatch(idem)
        block = orjson.loads(outcome.body)
        start, count = int(block["first_step"]), int(block["count"])
        row = await _freshness(hub, run_id)
        compiled = await hub.compiled_fresh(run_id, row.revision, row.state_version)
    else:
        start = outcome.first_step
        compiled = await hub.compiled_fresh(run_id, outcome.revision, outcome.state_version)
    if count == 1:
        return value_json(compiled, start)
    return window_json(compiled, start, count)


async def report_progress(
    hub: Hub,
    run_id: int,
    step: int,
    worker: dict[str, Any] | None,
    *,
    final: bool = False,
    idem: IdemKey | None = None,
) -> dict[str, Any]:
    """A worker reached ``step``: progress becomes the largest step reported.

    ``final`` says the worker exited cleanly; any other progress says one is still training.
    """

    async def act() -> tuple[int, dict[str, Any]]:
        async with hub.db.transaction() as conn:
            await lookup(conn, idem)
            progress = (
                await conn.execute(
                    update(Run)
                    .where(Run.id == run_id)
                    .values(
                        progress=greatest(Run.progress, step),
                        clean_exit=final,
                        updated_at=utcnow(),
                    )
                    .returning(Run.progress)
                )
            ).scalar_one_or_none()
            if progress is None:
                raise run_not_found(run_id)
            if worker is not None:
                await touch_worker(conn, run_id, worker, step, is_sqlite=hub.db.is_sqlite)
            body = {"step": progress}
            await remember(conn, idem, 200, body)
        return 200, body

    return (await once(hub.db, idem, act))[1]  # type: ignore[no-any-return]
