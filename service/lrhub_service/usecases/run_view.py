"""What the dashboard reads of one run: its overview (with an ETag for polling), its
schedule's curve and its metrics, both downsampled. Reads only: nothing here promises."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any

from lrhub_service.usecases.compute import curve_budget
from lrhub_service.usecases.downsample import SAMPLES, downsample
from lrhub_service.usecases.errors import Invalid, run_not_found
from lrhub_service.usecases.hub import Hub, active_segments, segments_of
from lrhub_service.usecases.plan import span_of
from lrhub_service.usecases.report_list import json_metric
from lrhub_service.usecases.run_json import run_json
from lrhub_service.usecases.timefmt import iso


def _etag(*parts: Any) -> str:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()
    return f'W/"{digest}"'


def span_for(row: Any, segments: list[Any]) -> int:
    """The steps drawn for a run (``plan.span_of``) whose active segments are ``segments``."""
    return span_of(row, segments[-1].start if segments else 0)


async def overview(hub: Hub, run_id: int) -> tuple[dict[str, Any], str]:
    """The run, its span, workers, revisions and metric names; and an ETag that changes
    with its progress, reports, workers, revisions and status."""
    async with hub.reading() as (runs, records):
        row = await runs.get(run_id)
        if row is None:
            raise run_not_found(run_id)
        workers = await records.workers(run_id)
        count, last_report = await records.report_stamp(run_id)
        revisions = await records.revisions(run_id)
        segments = active_segments(await segments_of(records, run_id))
        metrics = await records.metric_names(run_id)
    run = run_json(row)
    since = datetime.now(timezone.utc) - timedelta(seconds=hub.settings.delete_active_s)
    seen = [w.last_seen.replace(tzinfo=w.last_seen.tzinfo or timezone.utc) for w in workers]
    body = {
        "run": run,
        "span": span_for(row, segments),
        "report_count": count,
        "last_report_step": last_report,
        "metrics": metrics,
        "workers": [
            {
                "identity": w.identity,
                "rank": w.info.get("rank"),
                "host": w.info.get("host"),
                "pid": w.info.get("pid"),
                "step": w.step,
                "last_seen": iso(w.last_seen),
                "live": at >= since,
            }
            for w, at in zip(workers, seen, strict=True)
        ],
        "revisions": [
            {
                "revision": r.revision,
                "effective_step": r.effective_step,
                "schedule": r.schedule,
                "clock": r.clock,
                "continue": r.continue_value,
                "created_at": iso(r.created_at),
            }
            for r in revisions
        ],
    }
    live = sum(1 for w in body["workers"] if w["live"])
    latest = max(seen, default=None)
    stamp = (row.revision, row.state_version, row.progress, row.horizon, count, last_report)
    tag = _etag(*stamp, latest, run["status"], run["archived_at"], live)
    return body, tag


def _bounds(start: int | None, end: int | None, span: int) -> tuple[int, int]:
    first = start if start is not None else 0
    last = end if end is not None else span
    if last <= first:
        raise Invalid(f"end must be > start ({first}); received end={last}", loc="end")
    return first, last


async def curve(
    hub: Hub, run_id: int, points: int, start: int | None, end: int | None
) -> dict[str, Any]:
    """The run's lr and momentum over ``[start, end)`` (default: its whole span) in
    ``points`` buckets (``Curve``), with the run's revision, progress and horizon."""
    async with hub.reading() as (runs, records):
        stored = await runs.get(run_id)
        if stored is None:
            raise run_not_found(run_id)
        segments = active_segments(await segments_of(records, run_id))
    compiled = await hub.compiled_fresh(run_id, stored.revision, stored.state_version)
    first, last = _bounds(start, end, span_for(stored, segments))
    groups = compiled.schedule.num_groups
    samples, cost = curve_budget(compiled.cost, groups, points, SAMPLES)
    folded = compiled.folded
    body = await hub.evaluator.run(
        cost,
        "points",
        downsample,
        compiled.schedule,
        first,
        last,
        points,
        samples,
        folded.at,
        folded.next_change,
    )
    body.update(revision=compiled.revision, progress=stored.progress, horizon=stored.horizon)
    return body


async def metric_curves(hub: Hub, run_id: int, metric: str | None, points: int) -> dict[str, Any]:
    """Each reported metric (or just ``metric``) in at most ``points`` buckets of steps:
    first step, min and max of the finite values, and the count of non-finite ones."""
    series: dict[str, Any] = {}
    async with hub.reading() as (runs, records):
        if await runs.get(run_id) is None:
            raise run_not_found(run_id)
        names = await records.metric_names(run_id)
        for name in [metric] if metric is not None else names:
            extent = await records.metric_extent(run_id, name)
            if extent is None:
                continue
            width = -(-(extent[1] - extent[0] + 1) // points)
            buckets = await records.metric_buckets(run_id, name, extent[0], width)
            series[name] = {
                "bucket": width,
                "steps": [b[1] for b in buckets],
                "min": [None if b[2] is None else json_metric(b[2]) for b in buckets],
                "max": [None if b[3] is None else json_metric(b[3]) for b in buckets],
                "nonfinite": [b[4] for b in buckets],
            }
    return {"metrics": names, "series": series}
