"""Use-cases for metric reports and resumes.

A report is idempotent per (run, step, metric name) among counted reports. Its
effective step is ``max(step, horizon + 1)`` so no promised value ever changes; the
engine folds it into the metric state, which is cached per state version.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from lrhub_service.db.listener import announce
from lrhub_service.db.models import Report, Run, utcnow
from lrhub_service.usecases import events
from lrhub_service.usecases.compiled import CompiledRun, FoldGroup, metric_value, refold
from lrhub_service.usecases.compute import affordable_steps, run_cost
from lrhub_service.usecases.errors import Conflict, Invalid, run_not_found
from lrhub_service.usecases.hub import Hub, greatest, stored_groups
from lrhub_service.usecases.idempotency import IdemKey, lookup, once, remember
from lrhub_service.usecases.report_list import SPECIALS, json_metric, list_reports, split_value
from lrhub_service.usecases.values import value_json, window_count, window_json
from lrhub_service.usecases.workers import touch_worker

__all__ = [
    "SPECIALS",
    "json_metric",
    "list_reports",
    "report",
    "resume",
    "split_value",
]


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


async def _locked_run(hub: Hub, conn: AsyncConnection, run_id: int) -> Any:
    query = select(
        Run.id, Run.revision, Run.state_version, Run.horizon, Run.status, Run.progress
    ).where(Run.id == run_id)
    if not hub.db.is_sqlite:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise run_not_found(run_id)
    return row


async def report(
    hub: Hub,
    run_id: int,
    step: int,
    metrics: dict[str, float],
    worker: dict[str, Any] | None,
    window: int | None,
    idem: IdemKey | None = None,
) -> dict[str, Any]:
    """Record a report, fold it, and answer with the values from its effective step."""
    if not metrics:
        raise Invalid("at least one metric is needed", loc="metrics")

    async def act() -> tuple[int, dict[str, Any]]:
        async with hub.db.transaction() as conn:
            run = await _locked_run(hub, conn, run_id)
            await lookup(conn, idem)
            compiled, result = await _report(hub, conn, run, step, metrics, worker, window)
            await remember(conn, idem, 200, result)
        hub.fast.forget(run_id)
        hub.cache.put(compiled)
        return 200, result

    return (await once(hub.db, idem, act))[1]  # type: ignore[no-any-return]


async def _report(
    hub: Hub,
    conn: AsyncConnection,
    run: Any,
    step: int,
    metrics: dict[str, float],
    worker: dict[str, Any] | None,
    window: int | None,
) -> tuple[CompiledRun, dict[str, Any]]:
    run_id = run.id
    compiled = await hub.compiled(conn, run_id, run.revision, run.state_version)
    existing = (
        await conn.execute(
            select(
                Report.metric,
                Report.value,
                Report.special,
                Report.effective_step,
                Report.decision,
            ).where(Report.run_id == run_id, Report.step == step, Report.counted.is_(True))
        )
    ).all()
    stored = {r.metric: r for r in existing}
    for name, value in metrics.items():
        if name not in stored:
            continue
        before = metric_value(stored[name].value, stored[name].special)
        if not _same(before, value):
            raise Conflict(
                f"step {step} already has {name}={json_metric(before)}; a report is "
                "idempotent per (run, step, metric) and cannot change it",
                loc=f"metrics.{name}",
            )
    fresh = {name: value for name, value in metrics.items() if name not in stored}
    if not fresh:
        first = stored[next(iter(metrics))]
        effective, decision = first.effective_step, first.decision
    else:
        effective = max(step, run.horizon + 1)
        compiled, decision = await _accept(hub, conn, run, compiled, step, effective, fresh, worker)
    horizon = run.horizon
    count = window_count(compiled, effective, window or hub.settings.window_max, horizon)
    count = affordable_steps(
        hub.evaluator, compiled, effective, min(count, hub.settings.window_max)
    )
    body = await hub.evaluator.run(
        run_cost(compiled, effective, count),
        "window",
        window_json,
        compiled,
        effective,
        count,
        horizon,
    )
    await conn.execute(
        update(Run)
        .where(Run.id == run_id)
        .values(horizon=greatest(Run.horizon, effective + body["count"] - 1))
    )
    if worker is not None:
        await touch_worker(conn, run_id, worker, step, is_sqlite=hub.db.is_sqlite)
    state = compiled.folded.at(effective)
    diverged = state.diverged or any(not math.isfinite(v) for v in metrics.values())
    return compiled, {
        "step": step,
        "effective_step": effective,
        "decision": decision,
        "stop": state.stopped,
        "diverged": diverged,
        "values": await hub.evaluator.run(
            run_cost(compiled, effective, 1), "step", value_json, compiled, effective
        ),
        "window": body,
    }


async def _accept(
    hub: Hub,
    conn: AsyncConnection,
    run: Any,
    compiled: CompiledRun,
    step: int,
    effective: int,
    metrics: dict[str, float],
    worker: dict[str, Any] | None,
) -> tuple[CompiledRun, dict[str, Any] | None]:
    """Insert the new report rows, fold them, and bump the run's state version."""
    version = run.state_version + 1
    decision: dict[str, Any] | None = None
    folded = compiled.folded
    if compiled.schedule.metric_driven:
        group = FoldGroup(effective, step, version, dict(metrics))
        history = None
        if group.key < folded.last_key:  # a late report: refold from the stored ones
            history = await stored_groups(conn, run.id)
        folded, decision = refold(compiled.schedule, folded, group, history)
    now = utcnow()
    rows = []
    for name, value in metrics.items():
        finite, special = split_value(value)
        rows.append(
            {
                "run_id": run.id,
                "step": step,
                "metric": name,
                "value": finite,
                "special": special,
                "effective_step": effective,
                "version": version,
                "counted": True,
                "decision": decision,
                "worker": worker,
                "created_at": now,
            }
        )
    await conn.execute(insert(Report), rows)
    latest = folded.latest()
    status = "diverged" if latest.diverged else "stopped" if latest.stopped else None
    changes: dict[str, Any] = {
        "state_version": version,
        "progress": greatest(Run.progress, step),
        "clean_exit": False,
        "updated_at": now,
    }
    if status is not None and run.status != status:
        changes["status"] = status
    await conn.execute(update(Run).where(Run.id == run.id).values(**changes))
    await announce(conn, run.id, is_sqlite=hub.db.is_sqlite)
    if decision is not None:
        await events.record(
            conn, run.id, str(decision.get("kind", "decision")), effective, decision
        )
    bad = {k: json_metric(v) for k, v in metrics.items() if not math.isfinite(v)}
    if bad and not (decision and decision.get("kind") == "divergence"):
        await events.record(conn, run.id, "divergence", effective, {"step": step, "metrics": bad})
    if status == "stopped" and run.status != "stopped":
        await events.record(conn, run.id, "stopped", effective, {"step": step})
    updated = CompiledRun(
        run_id=run.id,
        revision=run.revision,
        state_version=version,
        schedule=compiled.schedule,
        folded=folded,
        report_interval=compiled.report_interval,
    )
    return updated, decision


async def resume(
    hub: Hub,
    run_id: int,
    step: int,
    worker: dict[str, Any] | None,
    idem: IdemKey | None = None,
) -> dict[str, Any]:
    """Set the run back to ``step``: later reports stop counting, the state is refolded."""

    async def act() -> tuple[int, dict[str, Any]]:
        async with hub.db.transaction() as conn:
            run = await _locked_run(hub, conn, run_id)
            await lookup(conn, idem)
            compiled, body = await _resume(conn, run, step, worker)
            await announce(conn, run_id, is_sqlite=hub.db.is_sqlite)
            await remember(conn, idem, 200, body)
        hub.fast.forget(run_id)
        hub.cache.drop(run_id)
        if compiled is not None:
            hub.cache.put(compiled)
        return 200, body

    return (await once(hub.db, idem, act))[1]  # type: ignore[no-any-return]


async def _resume(
    conn: AsyncConnection, run: Any, step: int, worker: dict[str, Any] | None
) -> tuple[CompiledRun | None, dict[str, Any]]:
    from lrhub_service.usecases.hub import load_compiled
    from lrhub_service.usecases.runs import RUN_COLUMNS, run_json

    run_id = run.id
    dropped = (
        await conn.execute(
            update(Report)
            .where(Report.run_id == run_id, Report.counted.is_(True), Report.step > step)
            .values(counted=False)
        )
    ).rowcount
    await conn.execute(
        update(Run)
        .where(Run.id == run_id)
        .values(
            progress=step,
            horizon=step,
            next_step=step,
            state_version=Run.state_version + 1,
            clean_exit=None,
            updated_at=utcnow(),
        )
    )
    try:
        compiled: CompiledRun | None = await load_compiled(conn, run_id)
    except Conflict:  # not attached yet: nothing to refold
        compiled = None
    if compiled is not None:
        latest = compiled.folded.latest()
        status = "diverged" if latest.diverged else "stopped" if latest.stopped else "running"
        await conn.execute(update(Run).where(Run.id == run_id).values(status=status))
    await events.record(
        conn,
        run_id,
        "resumed",
        step,
        {"from_progress": run.progress, "uncounted_reports": dropped, "worker": worker},
    )
    row = (await conn.execute(select(*RUN_COLUMNS).where(Run.id == run_id))).one()
    return compiled, run_json(row)
