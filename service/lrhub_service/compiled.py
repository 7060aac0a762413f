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

from lrhub_service.engine import MetricState, Report, Schedule, Segment, build_schedule, parse_spec
from lrhub_service.errors import Conflict

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


@dataclass(frozen=True)
class FoldGroup:
    """The metrics of one accepted report request, folded as one engine ``Report``."""

    effective_step: int
    step: int
    version: int
    metrics: dict[str, float]

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.effective_step, self.step, self.version)


@dataclass
class FoldedState:
    """The metric state after each counted report group, ordered by effective step."""

    initial: MetricState
    steps: list[int] = field(default_factory=list)
    states: list[MetricState] = field(default_factory=list)
    groups: list[FoldGroup] = field(default_factory=list)
    max_report_step: int = 0

    @property
    def last_key(self) -> tuple[int, int, int]:
        return self.groups[-1].key if self.groups else (-1, -1, -1)

    def copy(self) -> FoldedState:
        return FoldedState(
            self.initial,
            list(self.steps),
            list(self.states),
            list(self.groups),
            self.max_report_step,
        )

    def at(self, step: int) -> MetricState:
        """The state that holds at ``step`` (reports with effective step <= step folded)."""
        index = bisect.bisect_right(self.steps, step)
        return self.states[index - 1] if index else self.initial

    def latest(self) -> MetricState:
        return self.states[-1] if self.states else self.initial

    def next_change(self, step: int) -> int | None:
        """The first effective step after ``step`` where the state changes, if any."""
        index = bisect.bisect_right(self.steps, step)
        return self.steps[index] if index < len(self.steps) else None


@dataclass
class CompiledRun:
    """A run's schedule for one revision plus its folded state for one state version."""

    run_id: int
    revision: int
    state_version: int
    schedule: Schedule
    folded: FoldedState
    report_interval: int
    windows: OrderedDict[tuple[int, int, int | None], bytes] = field(
        default_factory=OrderedDict, repr=False
    )

    def remember_window(self, key: tuple[int, int, int | None], payload: bytes) -> None:
        """Keep a rendered window (every rank asks for the same ones); a small LRU."""
        self.windows[key] = payload
        if len(self.windows) > WINDOW_CACHE_SIZE:
            self.windows.popitem(last=False)

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
) -> Schedule:
    """Compile stored revisions into an engine schedule (SpecError when impossible)."""
    engine_segments = [
        Segment(
            start=seg.start,
            spec=parse_spec(dict(seg.schedule)),
            clock_offset=seg.clock_offset,
            scale=list(seg.scale) if seg.scale is not None else None,
        )
        for seg in segments
    ]
    return build_schedule(
        segments=engine_segments,
        base_lrs=list(base_lrs) if base_lrs is not None else None,
        base_momentums=list(base_momentums) if base_momentums is not None else None,
        steps_per_epoch=steps_per_epoch,
    )


def metric_value(value: float | None, special: str | None) -> float:
    """A stored metric back as a float (non-finite values are stored as text)."""
    if special is not None:
        return {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}[special]
    return float(value) if value is not None else math.nan


def fold_groups(
    schedule: Schedule, folded: FoldedState, groups: Iterable[FoldGroup], *, decide: bool = True
) -> list[dict[str, Any] | None]:
    """Fold report groups (in order) into ``folded``, in place.

    Returns the decision each group produced (all None unless ``decide``). The engine sees
    the effective step, the step from which the report's decision applies.
    """
    decisions: list[dict[str, Any] | None] = []
    steps, states = folded.steps, folded.states
    state = folded.latest()
    highest = folded.max_report_step
    for group in groups:
        effective = group.effective_step
        new = schedule.fold(state, Report(step=effective, metrics=group.metrics))
        decisions.append(schedule.decision(state, new) if decide else None)
        if steps and steps[-1] == effective:
            states[-1] = new
        else:
            steps.append(effective)
            states.append(new)
        folded.groups.append(group)
        highest = max(highest, group.step)
        state = new
    folded.max_report_step = highest
    return decisions


def refold(
    schedule: Schedule, folded: FoldedState, group: FoldGroup
) -> tuple[FoldedState, dict[str, Any] | None]:
    """A new folded state with ``group`` added (incremental when it comes last in order)."""
    if group.key >= folded.last_key:
        new = folded.copy()
        return new, fold_groups(schedule, new, [group])[0]
    groups = sorted([*folded.groups, group], key=lambda g: g.key)
    new = FoldedState(initial=folded.initial)
    decisions = fold_groups(schedule, new, groups)
    return new, decisions[groups.index(group)]


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


def require_bases(schedule_error: Exception) -> Conflict:
    """The 409 for a run that cannot be evaluated yet."""
    return Conflict(str(schedule_error), loc="base_lrs")
