"""Per-process caches: compiled schedules per (run, revision) and folded metric state.

A read costs one dictionary lookup here plus a closed-form evaluation; freshness is
checked by the caller against the run row's ``revision`` and ``state_version``.
"""

from __future__ import annotations

import bisect
import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lrhub_service.engine import (
    MetricState,
    Report,
    Schedule,
    Segment,
    SpecCost,
    build_schedule,
    built_cost,
    validate_spec,
)

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


@dataclass(frozen=True, slots=True)
class FoldGroup:
    """The metrics of one accepted report request, folded as one engine ``Report``."""

    effective_step: int
    step: int
    version: int
    metrics: dict[str, float]

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.effective_step, self.step, self.version)


class FoldLog:
    """Append-only lists shared by every version of a run's folded state.

    A version owns a prefix of the lists (its ``changed``); appending past a version's
    prefix never changes what that version sees, so versions are never copied.
    """

    __slots__ = ("changes", "states")

    def __init__(self) -> None:
        self.changes: list[int] = []  # effective steps of the groups that decided
        self.states: list[MetricState] = []  # the state right after each of them


@dataclass(frozen=True, slots=True)
class FoldedState:
    """One immutable version of a run's metric state, ordered by effective step.

    Only the states after a deciding report are kept: the values, ``stopped`` and
    ``diverged`` change only there (a plateau reduction, a divergence cut, a stop), so
    ``at(step)`` gives the same values as the full fold up to ``step``. ``latest`` is
    the exact state after every group, the one the next report folds into. The groups
    themselves are not kept: a late report refolds from the stored ones.
    """

    initial: MetricState
    log: FoldLog = field(default_factory=FoldLog)
    changed: int = 0  # change points in this version
    last: MetricState | None = None
    last_key: tuple[int, int, int] = (-1, -1, -1)
    max_report_step: int = 0
    groups: int = 0  # report groups folded in

    def at(self, step: int) -> MetricState:
        """A state with the values of the reports with effective step <= ``step``."""
        index = bisect.bisect_right(self.log.changes, step, 0, self.changed)
        return self.log.states[index - 1] if index else self.initial

    def latest(self) -> MetricState:
        return self.last if self.last is not None else self.initial

    def next_change(self, step: int) -> int | None:
        """The first effective step after ``step`` where the values may change, if any."""
        index = bisect.bisect_right(self.log.changes, step, 0, self.changed)
        return self.log.changes[index] if index < self.changed else None

    def extended(
        self, schedule: Schedule, groups: Iterable[FoldGroup]
    ) -> tuple[FoldedState, list[dict[str, Any] | None]]:
        """A new version with ``groups`` folded in (in order) and each group's decision.

        O(1) amortised per group when this version is the newest one of its log; an
        older version (a stale cache entry) first copies its prefix into a new log.
        """
        log = self.log
        if self.changed != len(log.changes):
            log = FoldLog()
            log.changes = self.log.changes[: self.changed]
            log.states = self.log.states[: self.changed]
        decisions: list[dict[str, Any] | None] = []
        state, key, highest = self.latest(), self.last_key, self.max_report_step
        fold, decide = schedule.fold, schedule.decision
        for group in groups:
            new = fold(state, Report(step=group.effective_step, metrics=group.metrics))
            decision = decide(state, new)
            if decision is not None:
                log.changes.append(group.effective_step)
                log.states.append(new)
            decisions.append(decision)
            key = max(key, group.key)
            highest = max(highest, group.step)
            state = new
        count = self.groups + len(decisions)
        new = FoldedState(self.initial, log, len(log.changes), state, key, highest, count)
        return new, decisions


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

    def columns(self, start: int, count: int) -> tuple[list[list[float]], list[list[float]] | None]:
        """`arrays` as lists of Python floats."""
        lrs, moms = self.arrays(start, count)
        return lrs.tolist(), None if moms is None else moms.tolist()

    def first_bad_step(self, start: int, count: int) -> tuple[int, str] | None:
        """The first step of ``[start, start + count)`` the schedule cannot evaluate, and why."""
        try:
            self.columns(start, count)
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


def metric_value(value: float | None, special: str | None) -> float:
    """A stored metric back as a float (non-finite values are stored as text)."""
    if special is not None:
        return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[special]
    return float(value) if value is not None else math.nan


def refold(
    schedule: Schedule,
    folded: FoldedState,
    group: FoldGroup,
    history: Sequence[FoldGroup] | None = None,
    base: FoldedState | None = None,
) -> tuple[FoldedState, dict[str, Any] | None]:
    """A new folded state with ``group`` added, and the group's decision.

    A group that sorts last is folded into ``folded``: O(1) amortised. One that sorts
    earlier (a late report) needs ``history``, the groups already folded after ``base``
    (a fold snapshot; by default the initial state), and refolds those in order.
    """
    if group.key >= folded.last_key:
        new, decisions = folded.extended(schedule, [group])
        return new, decisions[0]
    if history is None:
        raise ValueError(f"report {group.key} sorts before {folded.last_key}: needs history")
    groups = sorted([*history, group], key=lambda g: g.key)
    position = next(i for i, g in enumerate(groups) if g is group)
    start = base if base is not None else FoldedState(initial=folded.initial)
    new, decisions = start.extended(schedule, groups)
    return new, decisions[position]


def group_reports(rows: Iterable[Any]) -> list[FoldGroup]:
    """Sorted rows of (effective_step, step, version, metric, value, special) into groups."""
    groups: list[FoldGroup] = []
    last: tuple[int, int, int] | None = None
    metrics: dict[str, float] = {}
    for effective, step, version, metric, value, special in rows:
        number = (
            float(value) if special is None and value is not None else metric_value(value, special)
        )
        key = (effective, step, version)
        if key != last:
            metrics = {}
            groups.append(FoldGroup(effective, step, version, metrics))
            last = key
        metrics[metric] = number
    return groups


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
