"""A run's metric-driven state: reports folded in order of effective step, in versions
that share one append-only log (a late report refolds from the stored ones)."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lrhub_service.engine import MetricState, Report, Schedule


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
