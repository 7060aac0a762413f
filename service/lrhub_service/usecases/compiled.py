"""Per-process caches: compiled schedules per (run, revision) with their folded metric
state (`folding.py`).

A read costs one dictionary lookup here plus a closed-form evaluation; freshness is
checked by the caller against the run row's ``revision`` and ``state_version``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lrhub_service.engine import (
    Schedule,
    Segment,
    SpecCost,
    build_schedule,
    built_cost,
    validate_spec,
)
from lrhub_service.usecases.folding import FoldedState

EVALUATION_ERRORS = (ValueError, ArithmeticError)  # SpecError and ExpressionError included
CACHE_SIZE = 1024
WINDOW_CACHE_SIZE = 32


@dataclass(frozen=True)
class SegmentRecord:
    """A stored revision, as the engine needs it."""

    revision: int
    start: int
    schedule: Mapping[str, Any]
    clock_offset: int
    scale: Sequence[float] | None


@dataclass
class CompiledRun:
    """A run's schedule for one revision plus its folded state for one state version."""

    run_id: int
    revision: int
    state_version: int
    schedule: Schedule
    folded: FoldedState
    report_interval: int
    cost: SpecCost  # the engine's estimate for the built schedule (engine.built_cost)
    replayed: int = 0  # report groups folded to load it (not restored from a fold snapshot)
    windows: OrderedDict[tuple[int, int, int | None, str], Any] = field(
        default_factory=OrderedDict, repr=False
    )

    def remember_window(self, key: tuple[int, int, int | None, str], payload: Any) -> None:
        """Keep a rendered window (every rank asks for the same ones); a small LRU."""
        self.windows[key] = payload
        if len(self.windows) > WINDOW_CACHE_SIZE:
            self.windows.popitem(last=False)

    def arrays(self, start: int, count: int) -> tuple[Any, Any | None]:
        """Per-group float64 columns (numpy, ``groups x count``) for ``count`` steps from
        ``start``, across metric-state changes; momentums None when the run has none."""
        lr_parts: list[Any] = []
        momentum_parts: list[Any] = []
        step, end = start, start + count
        while step < end:
            change = self.folded.next_change(step)
            stop = end if change is None else min(end, change)
            part_lrs, part_moms = self.schedule.window(step, stop - step, self.folded.at(step))
            lr_parts.append(part_lrs)
            if part_moms is not None:
                momentum_parts.append(part_moms)
            step = stop
        lrs = np.concatenate(lr_parts, axis=1) if len(lr_parts) > 1 else lr_parts[0]
        if not momentum_parts:
            return lrs, None
        moms = (
            np.concatenate(momentum_parts, axis=1) if len(momentum_parts) > 1 else momentum_parts[0]
        )
        return lrs, moms

    def first_bad_step(self, start: int, count: int) -> tuple[int, str] | None:
        """The first step of ``[start, start + count)`` the schedule cannot evaluate, and why."""
        try:
            self.arrays(start, count)
        except EVALUATION_ERRORS as whole:
            for step in range(start, start + count):
                try:
                    self.schedule.values(step, self.folded.at(step))
                except EVALUATION_ERRORS as exc:
                    return step, str(exc)
            return start, str(whole)  # pragma: no cover - a window fails only where a step does
        return None

    def next_report(self, start: int, horizon: int = -1) -> int | None:
        """The first report point after ``start`` that is neither reported nor promised.

        Steps up to the horizon are already handed out, so a window may always reach them.
        """
        if not self.schedule.metric_driven:
            return None
        after = max(start, self.folded.max_report_step, horizon)
        interval = self.report_interval
        return (after // interval + 1) * interval


def build(
    segments: Sequence[SegmentRecord],
    base_lrs: Sequence[float] | None,
    base_momentums: Sequence[float] | None,
    steps_per_epoch: int | None,
) -> tuple[Schedule, SpecCost]:
    """Compile stored revisions into an engine schedule and its cost (SpecError when
    impossible); the cost is computed here, once per compile."""
    engine_segments, costs = [], []
    for seg in segments:
        spec, found = validate_spec(dict(seg.schedule))
        costs.append(found)
        engine_segments.append(
            Segment(
                start=seg.start,
                spec=spec,
                clock_offset=seg.clock_offset,
                scale=list(seg.scale) if seg.scale is not None else None,
            )
        )
    schedule = build_schedule(
        segments=engine_segments,
        base_lrs=list(base_lrs) if base_lrs is not None else None,
        base_momentums=list(base_momentums) if base_momentums is not None else None,
        steps_per_epoch=steps_per_epoch,
    )
    return schedule, built_cost(costs)


class RunCache:
    """An LRU of compiled runs keyed by run id."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._items: OrderedDict[int, CompiledRun] = OrderedDict()
        self._size = size

    def get(self, run_id: int, revision: int, state_version: int) -> CompiledRun | None:
        item = self._items.get(run_id)
        if item is None or item.revision != revision or item.state_version != state_version:
            return None
        self._items.move_to_end(run_id)
        return item

    def peek(self, run_id: int) -> CompiledRun | None:
        """The cached entry of a run, whatever its versions (for inspection)."""
        return self._items.get(run_id)

    def put(self, item: CompiledRun) -> None:
        current = self._items.get(item.run_id)
        if current is not None and (current.revision, current.state_version) > (
            item.revision,
            item.state_version,
        ):
            return
        self._items[item.run_id] = item
        self._items.move_to_end(item.run_id)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def drop(self, run_id: int) -> None:
        self._items.pop(run_id, None)
