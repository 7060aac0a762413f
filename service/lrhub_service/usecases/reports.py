"""Use case: metric reports.

A report is idempotent per (run, step, metric name) among counted reports. Its
effective step is ``max(step, horizon + 1)`` so no promised value ever changes; the
engine folds it into the metric state, which is cached per state version. A report of a
rank of a launch waits at its report point for the launch's other ranks and is decided on
their mean (``launches.gather``).
"""

from __future__ import annotations

import math
from typing import Any

from lrhub_service.db.models import utcnow
from lrhub_service.usecases import events, launches, replay, unit_of_work
from lrhub_service.usecases.compiled import CompiledRun
from lrhub_service.usecases.compute import UNKNOWN_US, affordable_steps, request_us
from lrhub_service.usecases.errors import Conflict, Invalid
from lrhub_service.usecases.folding import FoldedState, FoldGroup, metric_value, refold
from lrhub_service.usecases.hub import Hub
from lrhub_service.usecases.idempotency import IdemKey
from lrhub_service.usecases.report_list import json_metric, split_value
from lrhub_service.usecases.status import STATUS_RUNNING, status_of
from lrhub_service.usecases.unit_of_work import RunWork
from lrhub_service.usecases.values import value_json, window_count, window_json
from lrhub_service.usecases.workers import touch_worker


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


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

    async def act(work: RunWork) -> tuple[int, dict[str, Any]]:
        return 200, await _report(work, step, metrics, worker, window)

    return (await unit_of_work.write(hub, run_id, idem, act))[1]  # type: ignore[no-any-return]


async def _report(
    work: RunWork,
    step: int,
    metrics: dict[str, float],
    worker: dict[str, Any] | None,
    window: int | None,
) -> dict[str, Any]:
    run = work.run
    run_id = run.id
    compiled = await work.compiled_run(run.revision, run.state_version)
    stored = {r.metric: r for r in await work.records.reports_at(run_id, step)}
    member = launches.member_of(worker)
    if stored and member is not None and member.world_size > 1:
        metrics = {}  # decided on the launch's mean (or before it came): that decision holds
    elif compiled.schedule.metric_driven:
        gathered = await launches.gather(work, step, metrics, worker)
        if gathered is not None and gathered.mean is None:
            await touch_worker(work.records, run_id, worker, step)
            return gathered.pending_answer(step)
        if gathered is not None:  # decided now, on the ranks' mean: recorded with its count
            metrics = gathered.mean or metrics
            worker = {**(worker or {}), "mean_of": gathered.ranks}
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
        first = stored[next(iter(metrics or stored))]
        effective, decision = first.effective_step, first.decision
    else:
        effective = max(step, run.horizon + 1)
        compiled, decision = await _accept(work, compiled, step, effective, fresh, worker)
    work.keep(compiled)
    horizon = run.horizon
    hub = work.hub
    count = window_count(compiled, effective, window or hub.settings.window_max, horizon)
    span = affordable_steps(compiled, min(count, hub.settings.window_max))
    body = await hub.evaluator.run(
        request_us(compiled, span),
        "window",
        window_json,
        compiled,
        effective,
        span,
        horizon,
        effective + span - 1,
    )
    await work.rows.raise_horizon(run_id, effective + span - 1)
    await touch_worker(work.records, run_id, worker, step)
    state = compiled.folded.at(effective)
    diverged = state.diverged or any(not math.isfinite(v) for v in metrics.values())
    return {
        "step": step,
        "effective_step": effective,
        "decision": decision,
        "stop": state.stopped,
        "diverged": diverged,
        "values": await hub.evaluator.run(
            request_us(compiled, 1), "step", value_json, compiled, effective
        ),
        "window": body,
        "pending": None,
    }


async def _accept(
    work: RunWork,
    compiled: CompiledRun,
    step: int,
    effective: int,
    metrics: dict[str, float],
    worker: dict[str, Any] | None,
) -> tuple[CompiledRun, dict[str, Any] | None]:
    """Insert the new report rows, fold them, and bump the run's state version."""
    run = work.run
    version = await work.new_state_version()
    decision: dict[str, Any] | None = None
    folded, replayed = compiled.folded, 0
    if compiled.schedule.metric_driven:
        group = FoldGroup(effective, step, version, dict(metrics))
        if group.key < folded.last_key:  # a late report: refold after a snapshot before it
            folded, decision, replayed = await _late(work, compiled, group)
        else:
            folded, decision = refold(compiled.schedule, folded, group)
            if replay.due(folded):
                await replay.store(work.records, run.id, run.revision, folded)
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
    await work.records.add_reports(rows)
    latest = folded.latest()
    status = status_of(latest)
    changes: dict[str, Any] = {"clean_exit": False}
    if status != STATUS_RUNNING and run.status != status:
        changes["status"] = status
    await work.rows.update(run.id, **changes)
    await work.rows.raise_progress(run.id, step)
    if decision is not None:
        kind = events.EventKind(str(decision.get("kind")))
        await events.record(work.records, run.id, kind, effective, decision)
    bad = {k: json_metric(v) for k, v in metrics.items() if not math.isfinite(v)}
    if bad and not (decision and decision.get("kind") == "divergence"):
        await events.record(
            work.records,
            run.id,
            events.EventKind.DIVERGENCE,
            effective,
            {"step": step, "metrics": bad},
        )
    if status == "stopped" and run.status != "stopped":
        stopped = events.EventKind.STOPPED
        await events.record(work.records, run.id, stopped, effective, {"step": step})
    updated = CompiledRun(
        run_id=run.id,
        revision=run.revision,
        state_version=version,
        schedule=compiled.schedule,
        folded=folded,
        report_interval=compiled.report_interval,
        cost=compiled.cost,
        replayed=replayed,
    )
    return updated, decision


async def _late(
    work: RunWork, compiled: CompiledRun, group: FoldGroup
) -> tuple[FoldedState, dict[str, Any] | None, int]:
    """Fold a report that sorts before others: from the latest snapshot before it, then it
    and the groups after it, all on the evaluator. Also says how many stored groups it
    folded: those after the snapshot, not every stored one."""
    run_id, records, schedule = work.run.id, work.records, compiled.schedule
    await replay.drop_after(records, run_id, group.key)
    evaluator = work.hub.evaluator
    base, before = await replay.replay(
        records, run_id, work.run.revision, schedule, evaluator, before=group.key
    )
    later, after = await replay.replay_groups(records, run_id, group.key, None)
    folded, decision = await evaluator.run(
        UNKNOWN_US, "step", refold, schedule, compiled.folded, group, later, base
    )
    return folded, decision, before + after
