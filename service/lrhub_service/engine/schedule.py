"""A built schedule: revisions joined piecewise, values at any step, folds over reports."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import wraps
from types import MappingProxyType
from typing import Any, NamedTuple, ParamSpec, TypeVar

from .errors import SpecError
from .expr import ExpressionError
from .node import LrFn, MetricHook
from .state import MetricState, Report, freeze


class Values(NamedTuple):
    """Every group's lr (and momentum, for schedules that cycle it) at one step."""

    lrs: tuple[float, ...]
    momentums: tuple[float, ...] | None = None


P = ParamSpec("P")
R = TypeVar("R")


def _as_spec_error(method: Callable[P, R]) -> Callable[P, R]:
    """An expression failing at some step (a domain error) becomes a SpecError."""

    @wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except ExpressionError as exc:
            raise SpecError([{"loc": exc.loc, "msg": exc.reason}]) from None

    return wrapper


@dataclass(frozen=True)
class Schedule:
    """Pure functions of the step for every group, built by :func:`build_schedule`."""

    num_groups: int
    has_momentum: bool
    metric_driven: bool
    starts: tuple[int, ...]
    offsets: tuple[int, ...]
    lr_fns: tuple[tuple[LrFn, ...], ...]  # [segment][group]
    momentum_fns: tuple[tuple[LrFn, ...], ...] | None
    hooks: tuple[MetricHook, ...] = field(default=())
    units: tuple[LrFn | None, ...] = ()  # [segment]: lr = base * unit * scale, when set
    bases: tuple[tuple[float, ...], ...] = ()  # [segment][group]
    scales: tuple[tuple[float | None, ...], ...] = ()  # [segment][group]

    @_as_spec_error
    def values(self, step: int, state: MetricState) -> Values:
        """Every group's values at ``step`` given the metric state at that step."""
        if step < 0:
            raise SpecError("must be >= 0", "step")
        seg = bisect_right(self.starts, step) - 1
        local = step - self.offsets[seg]
        lrs = tuple(fn(local, state) for fn in self.lr_fns[seg])
        _check(lrs, step)
        moms = None
        if self.momentum_fns is not None:
            moms = tuple(fn(local, state) for fn in self.momentum_fns[seg])
        return Values(lrs, moms)

    @_as_spec_error
    def window(
        self, start: int, count: int, state: MetricState
    ) -> tuple[list[list[float]], list[list[float]] | None]:
        """Per-group columns for steps ``start .. start+count-1``: ``lrs[g][i]``."""
        if start < 0 or count < 0:
            raise SpecError("must be >= 0", "start" if start < 0 else "count")
        lrs: list[list[float]] = [[] for _ in range(self.num_groups)]
        moms = [[] for _ in range(self.num_groups)] if self.momentum_fns is not None else None
        end = start + count
        seg = max(0, bisect_right(self.starts, start) - 1)
        while start < end:
            stop = min(self.starts[seg + 1] if seg + 1 < len(self.starts) else end, end)
            steps = range(start - self.offsets[seg], stop - self.offsets[seg])
            columns = self._lr_columns(seg, steps, state)
            for g, column in enumerate(columns):
                bad = [v for v in column if not 0.0 <= v < math.inf]
                if bad:
                    _check((bad[0],), start + column.index(bad[0]))
                lrs[g].extend(column)
            if moms is not None and self.momentum_fns is not None:
                for g, column in enumerate(_columns(self.momentum_fns[seg], steps, state)):
                    moms[g].extend(column)
            start, seg = stop, seg + 1
        return lrs, moms

    def _lr_columns(self, seg: int, steps: range, state: MetricState) -> list[list[float]]:
        unit = self.units[seg]
        if unit is None:
            return _columns(self.lr_fns[seg], steps, state)
        factors = [unit(k, state) for k in steps]  # one column, scaled per group
        columns = []
        for base, scale in zip(self.bases[seg], self.scales[seg], strict=True):
            column = [base * f for f in factors]
            columns.append(column if scale is None else [v * scale for v in column])
        return columns

    def initial_state(self) -> MetricState:
        """The state before any report."""
        return MetricState()

    @_as_spec_error
    def fold(self, state: MetricState, report: Report) -> MetricState:
        """The state after one more report (pure: ``state`` is left as it was)."""
        nodes: Any = state.nodes  # always a MappingProxyType (see MetricState)
        changed: dict[str, Any] | None = None
        stopped, diverged = state.stopped, state.diverged
        for hook in self.hooks:
            outcome = hook.fold(nodes.get(hook.key), report.step, report.metrics, state)
            if outcome is None:
                continue
            if changed is None:
                changed = nodes.copy()  # a proxy's copy: a plain dict
            changed[hook.key] = freeze(outcome.record)  # O(1) for a frozen_record
            stopped = stopped or outcome.stop
            diverged = diverged or outcome.diverged
        if changed is not None:
            nodes = MappingProxyType(changed)
        return MetricState._trusted(nodes, stopped, diverged, state.reports + 1)

    def decision(self, old_state: MetricState, new_state: MetricState) -> dict[str, Any] | None:
        """What changed between two states, e.g. ``{"kind": "plateau", "factor": 0.1}``."""
        for hook in self.hooks:
            found = hook.decision(old_state.node(hook.key), new_state.node(hook.key))
            if found is not None:
                return found
        if new_state.diverged and not old_state.diverged:
            return {"kind": "divergence"}
        if new_state.stopped and not old_state.stopped:
            return {"kind": "stop"}
        return None


def _columns(fns: Sequence[LrFn], steps: range, state: MetricState) -> list[list[float]]:
    """One column per function; groups sharing a function share the work."""
    done: dict[int, list[float]] = {}
    columns = []
    for fn in fns:
        column = done.get(id(fn))
        if column is None:
            column = done[id(fn)] = [fn(k, state) for k in steps]
        else:
            column = list(column)
        columns.append(column)
    return columns


def _check(lrs: Sequence[float], step: int) -> None:
    for g, value in enumerate(lrs):
        if not 0.0 <= value < math.inf:
            raise SpecError(f"the schedule gives lr {value} for group {g} at step {step}", "")
