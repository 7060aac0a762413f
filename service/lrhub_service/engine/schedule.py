"""A built schedule: revisions joined piecewise, values over arrays of steps, folds over
reports.

One evaluation path: :meth:`Schedule.evaluate` takes an int64 array of steps; a window
is a contiguous range of them and one step's values are a window of one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from .errors import SpecError
from .expr import ExpressionError
from .node import Floats, LrFn, MetricHook, Steps
from .state import MetricState, Report, freeze

Table = npt.NDArray[np.float64]
"""A ``(groups, steps)`` float64 array."""


BLOCK = 64
"""Steps evaluated together when one step is read (see :meth:`Schedule.values`)."""
CACHED_BLOCKS = 8
MAX_CACHED_STEP = 2**62


Row = tuple[float, ...]
Block = tuple[MetricState, list[Row], list[Row] | None]
"""A cached block: the state it was evaluated for, then per step the lrs and momentums."""


class Values(NamedTuple):
    """Every group's lr (and momentum, for schedules that cycle it) at one step."""

    lrs: tuple[float, ...]
    momentums: tuple[float, ...] | None = None


class StepError(SpecError):
    """A step whose value cannot be computed; ``.step`` is the first such step."""

    def __init__(self, errors: list[dict[str, str]], step: int) -> None:
        self.step = step
        super().__init__(errors)


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
    _blocks: dict[int, Block] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )  # first step -> (state, values): the last blocks read by :meth:`values`

    def evaluate(self, steps: npt.ArrayLike, state: MetricState) -> tuple[Table, Table | None]:
        """Every group's lrs (and momentums, or None) at ``steps``: arrays ``(groups, len)``.

        A step whose value cannot be computed (an expression failing, an lr that is
        negative, NaN or infinite) raises SpecError; its ``.step`` is the first such step.
        """
        at = np.asarray(steps, dtype=np.int64).reshape(-1)
        if at.size and int(at.min()) < 0:
            raise SpecError("must be >= 0", "step")
        try:
            return self._checked(at, state)
        except SpecError:
            raise self._first_failure(at, state) from None

    def window(self, start: int, count: int, state: MetricState) -> tuple[Table, Table | None]:
        """:meth:`evaluate` over steps ``start .. start+count-1``: ``lrs[g, i]``."""
        if start < 0 or count < 0:
            raise SpecError("must be >= 0", "start" if start < 0 else "count")
        return self.evaluate(np.arange(start, start + count, dtype=np.int64), state)

    def values(self, step: int, state: MetricState) -> Values:
        """Every group's values at ``step`` given the metric state at that step.

        A window of one, read through a small cache: the aligned block of ``BLOCK``
        steps around ``step`` is evaluated at once (for about the cost of one step), so
        the next steps a reader asks for (advance, ``lr_at`` in a loop, a dashboard
        polling) are list lookups. A block with a failing step is not cached.
        """
        if step < 0:
            raise SpecError("must be >= 0", "step")
        first = step - step % BLOCK
        cached = self._blocks.get(first)
        if cached is None or cached[0] is not state:
            cached = self._block(first, state)
            if cached is None:  # some step of the block fails: evaluate this one alone
                lrs, moms = self.evaluate(np.array([step], dtype=np.int64), state)
                momentums = None if moms is None else tuple(moms[:, 0].tolist())
                return Values(tuple(lrs[:, 0].tolist()), momentums)
        index = step - first
        return Values(cached[1][index], None if cached[2] is None else cached[2][index])

    def _block(self, first: int, state: MetricState) -> Block | None:
        if first > MAX_CACHED_STEP:
            return None
        try:
            lrs, moms = self._checked(np.arange(first, first + BLOCK, dtype=np.int64), state)
        except SpecError:
            return None
        found = list(zip(*lrs.tolist(), strict=True))
        found_moms = None if moms is None else list(zip(*moms.tolist(), strict=True))
        entry = (state, found, found_moms)
        blocks = self._blocks
        blocks[first] = entry
        try:
            while len(blocks) > CACHED_BLOCKS:  # drop the oldest
                blocks.pop(next(iter(blocks)), None)
        except (RuntimeError, StopIteration):  # another thread changed it meanwhile
            pass
        return entry

    def _checked(self, steps: Steps, state: MetricState) -> tuple[Table, Table | None]:
        with np.errstate(all="ignore"):
            lrs, moms = self._raw(steps, state)
        good = (lrs >= 0.0) & (lrs < np.inf)
        if not good.all():
            column = int(np.flatnonzero(~good.all(axis=0))[0])
            group = int(np.flatnonzero(~good[:, column])[0])
            step = int(steps[column])
            raise StepError(
                [
                    {
                        "loc": "",
                        "msg": f"the schedule gives lr {lrs[group, column]} for group {group}"
                        f" at step {step}",
                    }
                ],
                step,
            )
        return lrs, moms

    def _first_failure(self, steps: Steps, state: MetricState) -> SpecError:
        """The error of the first step in ``steps`` that fails, with ``.step`` set.

        Steps fail independently (a running product fails from its first bad factor on),
        so halving finds it in about ``len(steps)`` evaluations in all.
        """
        while steps.size > 1:
            half = steps[: steps.size // 2]
            try:
                self._checked(half, state)
                steps = steps[steps.size // 2 :]
            except SpecError:
                steps = half
        try:
            self._checked(steps, state)
        except StepError as exc:
            return exc
        except ExpressionError as exc:
            step = int(steps[0])
            return StepError([{"loc": exc.loc, "msg": f"{exc.reason} (step {step})"}], step)
        except SpecError as exc:
            return StepError(exc.errors, int(steps[0]))
        return SpecError("a step failed, then evaluated cleanly", "step")  # pragma: no cover

    def _raw(self, steps: Steps, state: MetricState) -> tuple[Table, Table | None]:
        if len(self.starts) == 1:
            return self._segment(0, steps - self.offsets[0], state)
        segs = np.searchsorted(self.starts, steps, side="right") - 1
        first, last = int(segs.min(initial=0)), int(segs.max(initial=0))
        if first == last:
            return self._segment(first, steps - self.offsets[first], state)
        lrs = np.empty((self.num_groups, steps.size))
        moms = np.empty((self.num_groups, steps.size)) if self.momentum_fns is not None else None
        for seg in range(first, last + 1):
            mask = segs == seg
            if mask.any():
                part_lrs, part_moms = self._segment(seg, steps[mask] - self.offsets[seg], state)
                lrs[:, mask] = part_lrs
                if moms is not None and part_moms is not None:
                    moms[:, mask] = part_moms
        return lrs, moms

    def _segment(self, seg: int, local: Steps, state: MetricState) -> tuple[Table, Table | None]:
        unit = self.units[seg]
        if unit is None:
            lrs = _rows(self.lr_fns[seg], local, state)
        else:  # one column, scaled per group
            factors = unit(local, state)
            lrs = np.multiply.outer(np.asarray(self.bases[seg]), factors)
            scales = self.scales[seg]
            if any(s is not None for s in scales):
                lrs *= np.array([1.0 if s is None else s for s in scales])[:, None]
        moms = None
        if self.momentum_fns is not None:
            moms = _rows(self.momentum_fns[seg], local, state)
        return lrs, moms

    def initial_state(self) -> MetricState:
        """The state before any report."""
        return MetricState()

    def fold(self, state: MetricState, report: Report) -> MetricState:
        """The state after one more report (pure: ``state`` is left as it was)."""
        try:
            return self._fold(state, report)
        except ExpressionError as exc:  # an expression failing at the report's step
            raise SpecError([{"loc": exc.loc, "msg": exc.reason}]) from None

    def _fold(self, state: MetricState, report: Report) -> MetricState:
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


def _rows(fns: tuple[LrFn, ...], steps: Steps, state: MetricState) -> Table:
    """One row per function; groups sharing a function share the work."""
    done: dict[int, Floats] = {}
    rows = np.empty((len(fns), steps.size))
    for g, fn in enumerate(fns):
        row = done.get(id(fn))
        if row is None:
            row = done[id(fn)] = fn(steps, state)
        rows[g] = row
    return rows
