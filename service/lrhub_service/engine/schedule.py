"""A built schedule: revisions joined piecewise, values at any step, folds over reports."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import SpecError
from .node import Context, LrFn, MetricHook, Node, RoutedHook, scaled, shifted
from .specs.base import SpecModel
from .state import MetricState, Report


@dataclass(frozen=True)
class Segment:
    """A revision: ``spec`` holds from global step ``start`` until the next segment.

    ``clock_offset`` is subtracted from the global step before the spec sees it;
    ``scale`` (one factor per group, or None) multiplies the segment's lrs.
    """

    start: int
    spec: SpecModel
    clock_offset: int = 0
    scale: Sequence[float] | None = None


@dataclass(frozen=True)
class Values:
    """Every group's lr (and momentum, for schedules that cycle it) at one step."""

    lrs: tuple[float, ...]
    momentums: tuple[float, ...] | None = None


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
            stop = self.starts[seg + 1] if seg + 1 < len(self.starts) else end
            stop = min(stop, end)
            steps = range(start - self.offsets[seg], stop - self.offsets[seg])
            for g, fn in enumerate(self.lr_fns[seg]):
                column = [fn(k, state) for k in steps]
                bad = [v for v in column if not 0.0 <= v < math.inf]
                if bad:
                    _check((bad[0],), start + column.index(bad[0]))
                lrs[g].extend(column)
            if moms is not None and self.momentum_fns is not None:
                for g, fn in enumerate(self.momentum_fns[seg]):
                    moms[g].extend(fn(k, state) for k in steps)
            start, seg = stop, seg + 1
        return lrs, moms

    def initial_state(self) -> MetricState:
        """The state before any report."""
        return MetricState()

    def fold(self, state: MetricState, report: Report) -> MetricState:
        """The state after one more report (pure: ``state`` is left as it was)."""
        nodes = dict(state.nodes)
        stopped, diverged = state.stopped, state.diverged
        for hook in self.hooks:
            outcome = hook.fold(state.node(hook.key), report.step, report.metrics, state)
            if outcome is None:
                continue
            nodes[hook.key] = outcome.record
            stopped = stopped or outcome.stop
            diverged = diverged or outcome.diverged
        return MetricState(nodes, stopped, diverged, state.reports + 1)

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


def _check(lrs: Sequence[float], step: int) -> None:
    for g, value in enumerate(lrs):
        if not 0.0 <= value < math.inf:
            raise SpecError(f"the schedule gives lr {value} for group {g} at step {step}", "")


def build_schedule(
    segments: Sequence[Segment],
    base_lrs: Sequence[float] | None = None,
    base_momentums: Sequence[float] | None = None,
    steps_per_epoch: int | None = None,
) -> Schedule:
    """Compile revisions into one :class:`Schedule` (SpecError when they make no sense)."""
    if not segments:
        raise SpecError("at least one segment is required", "segments")
    num_groups = _group_count(segments[0].spec, base_lrs)
    if base_lrs is not None:
        _check_numbers(base_lrs, "base_lrs", num_groups)
    if base_momentums is not None:
        _check_numbers(base_momentums, "base_momentums", num_groups)
    if steps_per_epoch is not None and steps_per_epoch < 1:
        raise SpecError("must be >= 1", "steps_per_epoch")
    nodes: list[Node] = []
    for i, seg in enumerate(segments):
        loc = f"segments[{i}]"
        if seg.start < 0 or (i and seg.start <= segments[i - 1].start) or (i == 0 and seg.start):
            raise SpecError("segment starts must be 0, then strictly increasing", f"{loc}.start")
        if not 0 <= seg.clock_offset <= seg.start:
            raise SpecError("clock_offset must be between 0 and start", f"{loc}.clock_offset")
        ctx = Context(
            num_groups=num_groups,
            base_lrs=tuple(float(b) for b in base_lrs) if base_lrs is not None else None,
            base_momentums=tuple(base_momentums) if base_momentums is not None else None,
            steps_per_epoch=steps_per_epoch,
            key_prefix=f"{i}:",
        )
        node = seg.spec.build(ctx)
        if seg.scale is not None:
            _check_numbers(seg.scale, f"{loc}.scale", num_groups, positive=True)
            node = Node(
                lrs=tuple(scaled(fn, s) for fn, s in zip(node.lrs, seg.scale, strict=True)),
                bases=node.bases,
                momentums=node.momentums,
                hooks=node.hooks,
            )
        nodes.append(node)
    return _assemble(segments, nodes, num_groups, base_momentums)


def _assemble(
    segments: Sequence[Segment],
    nodes: list[Node],
    num_groups: int,
    base_momentums: Sequence[float] | None,
) -> Schedule:
    starts = tuple(seg.start for seg in segments)
    hooks = tuple(
        RoutedHook(
            hook, seg.clock_offset, seg.start, starts[i + 1] if i + 1 < len(starts) else None
        )
        for i, (seg, node) in enumerate(zip(segments, nodes, strict=True))
        for hook in node.hooks
    )
    momentum_fns = None
    cycling = any(node.momentums is not None for node in nodes)
    if base_momentums is not None and all(m == 0 for m in base_momentums):
        cycling = False  # an optimizer without momentum: never switch it on silently
    if cycling:
        momentum_fns = tuple(_momentums(node, num_groups, base_momentums) for node in nodes)
    return Schedule(
        num_groups=num_groups,
        has_momentum=cycling,
        metric_driven=bool(hooks),
        starts=starts,
        offsets=tuple(seg.clock_offset for seg in segments),
        lr_fns=tuple(node.lrs for node in nodes),
        momentum_fns=momentum_fns,
        hooks=hooks,
    )


def _momentums(
    node: Node, num_groups: int, base_momentums: Sequence[float] | None
) -> tuple[LrFn, ...]:
    fns = []
    for g in range(num_groups):
        own = base_momentums[g] if base_momentums is not None else None
        if own == 0:
            fns.append(_fixed(0.0))
        elif node.momentums is not None:
            fns.append(node.momentums[g])
        else:
            fns.append(_fixed(own if own is not None else 0.0))
    return tuple(fns)


def _fixed(value: float) -> LrFn:
    return lambda step, state: value


def _group_count(spec: SpecModel, base_lrs: Sequence[float] | None) -> int:
    if base_lrs is not None:
        if len(base_lrs) == 0:
            raise SpecError("must have at least one group", "base_lrs")
        return len(base_lrs)
    if isinstance(spec.base_lr, list):
        return len(spec.base_lr)
    if spec.base_lr is None and spec.needs_base():
        raise SpecError(
            "base_lr missing: give it in the spec or attach an optimizer first", "base_lr"
        )
    return spec.group_hint() or 1


def _check_numbers(
    values: Sequence[float], loc: str, count: int, *, positive: bool = False
) -> None:
    if len(values) != count:
        raise SpecError(
            f"expected {count} values (one per parameter group), got {len(values)}", loc
        )
    for i, v in enumerate(values):
        if not (
            isinstance(v, (int, float)) and math.isfinite(v) and (v > 0 if positive else v >= 0)
        ):
            raise SpecError(
                "must be a finite number " + ("> 0" if positive else ">= 0"), f"{loc}[{i}]"
            )


__all__ = ["Schedule", "Segment", "Values", "build_schedule", "shifted"]
