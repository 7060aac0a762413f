"""The LR range test's read side: the stored curve, its smoothing, stop and suggestions.

Everything here is derived from the stored reports (and the stop decision the engine
recorded with them), so a client that crashed mid-test loses nothing: the curve and
the suggested learning rates can be read back at any time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lrhub_service.engine.beyond import SUGGESTION_METHODS, range_test_suggestions, smooth_losses
from lrhub_service.usecases.compiled import CompiledRun
from lrhub_service.usecases.errors import Invalid, run_not_found
from lrhub_service.usecases.folding import metric_value
from lrhub_service.usecases.hub import Hub
from lrhub_service.usecases.report_list import json_metric

RANGE_TEST = "LRRangeTest"
DEFAULT_SMOOTHING = 0.98


@dataclass(frozen=True)
class Point:
    """One stored loss: reported at ``step``, produced by the lr of ``value[step - 1]``."""

    step: int
    lr: float
    loss: float
    decision: Mapping[str, Any] | None


def _range_test_spec(schedule: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return schedule if schedule.get("type") == RANGE_TEST else None


def _points(compiled: CompiledRun, rows: Sequence[Any], group: int) -> list[Point]:
    points = []
    for row in rows:
        state = compiled.folded.at(row.step - 1)
        lr = compiled.schedule.values(row.step - 1, state).lrs[group]
        points.append(Point(row.step, lr, metric_value(row.value, row.special), row.decision))
    return points


def _stop_index(points: Sequence[Point]) -> int | None:
    """Index of the report whose fold stopped the test (its recorded decision)."""
    for i, point in enumerate(points):
        if point.decision and point.decision.get("kind") == "stop":
            return i
    return None


def _smoothed(losses: Sequence[float], beta: float) -> list[float | None]:
    """The debiased EMA over the finite prefix of ``losses``; None from the first NaN/inf."""
    finite = next((i for i, v in enumerate(losses) if not math.isfinite(v)), len(losses))
    values: list[float | None] = list(smooth_losses(losses[:finite], beta))
    return values + [None] * (len(losses) - finite)


def curve_json(
    run_id: int,
    points: Sequence[Point],
    *,
    metric: str,
    group: int,
    beta: float,
    stopped: bool,
    spec: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The ``GET /v1/runs/{id}/lr-finder`` body for stored ``points``."""
    stop = _stop_index(points)
    used = points if stop is None else points[: stop + 1]  # later reports ignored the stop
    used = [p for p in used if math.isfinite(p.lr) and p.lr > 0]  # log(lr) must exist
    lrs = [p.lr for p in used]
    losses = [p.loss for p in used]
    found = range_test_suggestions(lrs, losses, beta=beta) if used else {}
    suggestions = {m: found.get(m) for m in SUGGESTION_METHODS}
    reason = None if stop is None else points[stop].decision.get("reason")  # type: ignore[union-attr]
    return {
        "run_id": run_id,
        "metric": metric,
        "group": group,
        "smoothing": beta,
        "diverge_factor": spec.get("diverge_factor") if spec else None,
        "range_test": spec is not None,
        "steps": [p.step for p in points],
        "lrs": [p.lr for p in points],
        "losses": [json_metric(p.loss) for p in points],
        "smoothed": _smoothed([p.loss for p in points], beta),
        "suggestions": suggestions,
        "suggested_lr": suggestions["steepest"],
        "stopped": stopped,
        "stop_reason": reason,
        "stop_step": None if stop is None else points[stop].step,
        "stop_lr": None if stop is None else points[stop].lr,
    }


async def lr_finder(
    hub: Hub, run_id: int, *, metric: str | None, group: int, smoothing: float | None
) -> dict[str, Any]:
    """A run's reported losses against the lr that produced them, with suggestions.

    ``metric`` and ``smoothing`` default to the range test's own (``loss``, 0.98 for
    other schedules).
    """
    async with hub.reading() as (runs, records):
        row = await runs.get(run_id)
        if row is None:
            raise run_not_found(run_id)
        spec = _range_test_spec(row.schedule or {})
        name = metric or (str(spec.get("metric", "loss")) if spec else "loss")
        compiled = await hub.compiled_in(runs, records, run_id, row.revision, row.state_version)
        rows = await records.metric_history(run_id, name)
    groups = compiled.schedule.num_groups
    if group >= groups:
        raise Invalid(
            f"run {run_id} has {groups} parameter group(s); no group {group}", loc="group"
        )
    if smoothing is not None:
        beta = smoothing
    else:
        beta = float(spec.get("smoothing", DEFAULT_SMOOTHING)) if spec else DEFAULT_SMOOTHING
    return curve_json(
        run_id,
        _points(compiled, rows, group),
        metric=name,
        group=group,
        beta=beta,
        stopped=compiled.folded.latest().stopped,
        spec=spec,
    )
