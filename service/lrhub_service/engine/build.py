"""Compile revisions (segments of specs) into one :class:`Schedule`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import MissingBaseLR, SpecError
from .node import Context, Floats, LrFn, Node, RoutedHook, Steps, at_step, scaled
from .schedule import Schedule
from .specs.base import SpecModel
from .state import MetricState


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
                unit=node.unit,
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
        offsets = [seg.clock_offset for seg in segments]
        momentum_fns = tuple(
            _momentums(nodes, starts, offsets, i, num_groups, base_momentums)
            for i in range(len(nodes))
        )
    return Schedule(
        num_groups=num_groups,
        has_momentum=cycling,
        metric_driven=bool(hooks),
        starts=starts,
        offsets=tuple(seg.clock_offset for seg in segments),
        lr_fns=tuple(node.lrs for node in nodes),
        momentum_fns=momentum_fns,
        hooks=hooks,
        units=tuple(node.unit for node in nodes),
        bases=tuple(node.bases for node in nodes),
        scales=tuple(
            tuple(seg.scale) if seg.scale is not None else (None,) * num_groups for seg in segments
        ),
    )


def _momentums(
    nodes: list[Node],
    starts: Sequence[int],
    offsets: Sequence[int],
    index: int,
    num_groups: int,
    base_momentums: Sequence[float] | None,
) -> tuple[LrFn, ...]:
    """Segment ``index``'s momentum per group. A segment that does not cycle momentum
    holds the last momentum set before it (or the next cycling segment's first), as
    SequentialLR does; a group whose optimizer has no momentum stays at 0."""
    node, source, at = nodes[index], None, 0
    if node.momentums is None:
        before = [j for j in range(index) if nodes[j].momentums is not None]
        if before:
            source = before[-1]
            at = starts[source + 1] - 1 - offsets[source]
        else:
            source = next(j for j in range(index, len(nodes)) if nodes[j].momentums is not None)
            at = starts[source] - offsets[source]
    fns = []
    for g in range(num_groups):
        if base_momentums is not None and base_momentums[g] == 0:
            fns.append(_fixed(0.0))
        elif source is None:
            fns.append(node.momentums[g])  # type: ignore[index]
        else:
            fns.append(_held(nodes[source].momentums[g], at))  # type: ignore[index]
    return tuple(fns)


def _held(fn: LrFn, at: int) -> LrFn:
    """``fn``'s value at local step ``at``, at every step."""

    def value(steps: Steps, state: MetricState) -> Floats:
        return np.full(steps.shape, at_step(fn, at, state))

    return value


def _fixed(value: float) -> LrFn:
    return lambda steps, state: np.full(steps.shape, value)


def _group_count(spec: SpecModel, base_lrs: Sequence[float] | None) -> int:
    if base_lrs is not None:
        if len(base_lrs) == 0:
            raise SpecError("must have at least one group", "base_lrs")
        return len(base_lrs)
    if isinstance(spec.base_lr, list):
        return len(spec.base_lr)
    if spec.base_lr is None and spec.needs_base():
        raise MissingBaseLR("base_lr")
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
