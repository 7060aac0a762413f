"""Curves for the dashboard: a schedule's values over any span in a fixed number of
buckets, each keeping the min and the max of its samples.

Cost follows the points returned, never the span: each bucket is sampled at most
``SAMPLES`` times (its first and last step among them), so a 10-million-step schedule
costs what a 10-thousand-step one does. A bucket of ``SAMPLES`` steps or fewer is exact;
a wider one keeps the extremes of its samples (a schedule's own breakpoints between two
samples are smoothed over). A read: it promises nothing and moves no horizon.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from lrhub_service.engine import MetricState, Schedule

SAMPLES = 16
MAX_POINTS = 2000
Steps = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def bucket_steps(start: int, end: int, points: int, samples: int) -> tuple[int, Steps]:
    """The bucket width and a ``(buckets, k)`` array of sampled steps in ``[start, end)``."""
    span = max(end - start, 1)
    width = -(-span // points)
    buckets = -(-span // width)
    k = max(1, min(width, samples))
    offsets = (np.arange(k, dtype=np.int64) * (width - 1)) // max(k - 1, 1)
    firsts = start + np.arange(buckets, dtype=np.int64) * width
    return width, np.minimum(firsts[:, None] + offsets[None, :], end - 1)


def _evaluate(
    schedule: Schedule,
    state_at: Callable[[int], MetricState],
    next_change: Callable[[int], int | None],
    steps: Steps,
) -> tuple[Floats, Floats | None]:
    """Values at sorted ``steps``, evaluated in runs of steps that share a metric state."""
    lr_parts, mom_parts, i = [], [], 0
    while i < steps.size:
        change = next_change(int(steps[i]))
        j = steps.size if change is None else int(np.searchsorted(steps, change, side="left"))
        lrs, moms = schedule.evaluate(steps[i : max(j, i + 1)], state_at(int(steps[i])))
        lr_parts.append(lrs)
        if moms is not None:
            mom_parts.append(moms)
        i = max(j, i + 1)
    lrs = np.concatenate(lr_parts, axis=1)
    return lrs, np.concatenate(mom_parts, axis=1) if mom_parts else None


def _extremes(table: Floats, shape: tuple[int, int]) -> dict[str, list[list[float]]]:
    grid = table.reshape(table.shape[0], *shape)
    return {"min": grid.min(axis=2).tolist(), "max": grid.max(axis=2).tolist()}


def downsample(
    schedule: Schedule,
    start: int,
    end: int,
    points: int,
    samples: int = SAMPLES,
    state_at: Callable[[int], MetricState] | None = None,
    next_change: Callable[[int], int | None] | None = None,
) -> dict[str, Any]:
    """The ``Curve`` body: per bucket its first step, and per group the min and max lr
    (and momentum) of its samples. ``state_at`` and ``next_change`` give the folded metric
    state (default: the schedule's initial state throughout)."""
    width, grid = bucket_steps(start, end, points, samples)
    initial = schedule.initial_state()
    lrs, moms = _evaluate(
        schedule,
        state_at or (lambda _step: initial),
        next_change or (lambda _step: None),
        grid.reshape(-1),
    )
    return {
        "start": start,
        "end": end,
        "bucket": width,
        "steps": grid[:, 0].tolist(),
        "lr": _extremes(lrs, grid.shape),
        "momentum": None if moms is None else _extremes(moms, grid.shape),
    }
