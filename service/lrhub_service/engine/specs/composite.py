"""SequentialLR and ChainedScheduler: specs that nest other specs in ``schedulers``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import Field

from ..node import (
    Context,
    Floats,
    LrFn,
    Node,
    RoutedHook,
    Steps,
    TransformFn,
    at_step,
    proportional,
)
from ..state import MetricState
from .base import Problem, SpecModel

if TYPE_CHECKING:
    AnySpec = Any
Children = Annotated[list["AnySpec"], Field(min_length=1)]


class SequentialLR(SpecModel):
    """Run ``schedulers[i]`` from ``milestones[i-1]`` on, each on its own clock from 0."""

    type: Literal["SequentialLR"] = "SequentialLR"
    schedulers: Children
    milestones: list[Annotated[int, Field(ge=0)]]

    def children(self) -> list[tuple[tuple[str | int, ...], SpecModel]]:
        return [(("schedulers", i), s) for i, s in enumerate(self.schedulers)]

    def problems(self) -> Iterator[Problem]:
        if len(self.milestones) != len(self.schedulers) - 1:
            yield (
                ("milestones",),
                f"expected {len(self.schedulers) - 1} milestones (one fewer than schedulers),"
                f" got {len(self.milestones)}",
            )
        for i in range(1, len(self.milestones)):
            if self.milestones[i] < self.milestones[i - 1]:
                yield (("milestones", i), "milestones must be in increasing order")

    def compile(self, ctx: Context) -> Node:
        kids = [s.build(ctx.child("schedulers", i)) for i, s in enumerate(self.schedulers)]
        marks = list(self.milestones)
        starts = [0, *marks]
        lrs = tuple(
            _switch(marks, starts, [kid.lrs[g] for kid in kids]) for g in range(ctx.num_groups)
        )
        hooks = tuple(
            RoutedHook(hook, starts[i], starts[i], marks[i] if i < len(marks) else None)
            for i, kid in enumerate(kids)
            for hook in kid.hooks
        )
        momentums = None
        if any(kid.momentums is not None for kid in kids):
            momentums = tuple(
                _switch(marks, starts, _momentum_fns(kids, starts, g))
                for g in range(ctx.num_groups)
            )
        bases = ctx.base_lrs if ctx.base_lrs is not None else kids[0].bases
        if all(kid.unit is not None and kid.bases == bases for kid in kids):
            unit = _switch(marks, starts, [kid.unit for kid in kids])  # type: ignore[misc]
            return proportional(bases, unit, momentums, hooks)
        return Node(lrs=lrs, bases=bases, momentums=momentums, hooks=hooks)


def _switch(marks: list[int], starts: list[int], fns: list[LrFn]) -> LrFn:
    """Child ``i`` on the steps from ``starts[i]`` to the next milestone, on its own clock."""
    if not marks:
        return fns[0]
    bounds = np.asarray(marks, dtype=np.int64)

    def lr(steps: Steps, state: MetricState) -> Floats:
        index = np.searchsorted(bounds, steps, side="right")
        first, last = int(index.min(initial=0)), int(index.max(initial=0))
        if first == last:
            return fns[first](steps - starts[first], state)
        order = np.argsort(index, kind="stable")  # linear for a window: already sorted
        ordered = index[order]
        kids, opens = np.unique(ordered, return_index=True)
        closes = [*opens[1:].tolist(), ordered.size]
        values = np.empty(steps.shape)
        for i, begin, end in zip(kids.tolist(), opens.tolist(), closes, strict=True):
            where = order[begin:end]
            values[where] = fns[i](steps[where] - starts[i], state)
        return values

    return lr


def _momentum_fns(kids: list[Node], starts: list[int], group: int) -> list[LrFn]:
    """Children without momentum hold the last momentum set before them (as torch does);
    before the first cycling child, its initial momentum (set when torch constructs it)."""
    ends = [*starts[1:], None]
    fns: list[LrFn] = []
    for i, kid in enumerate(kids):
        if kid.momentums is not None:
            fns.append(kid.momentums[group])
            continue
        before = [j for j in range(i) if kids[j].momentums is not None]
        if before:
            j = before[-1]
            end = ends[j]
            at = max(0, (end if end is not None else starts[j]) - 1 - starts[j])
        else:
            j = next(j for j in range(i + 1, len(kids)) if kids[j].momentums is not None)
            at = 0
        fns.append(_frozen(kids[j].momentums[group], at))  # type: ignore[index]
    return fns


def _frozen(fn: LrFn, at: int) -> LrFn:
    def value(steps: Steps, state: MetricState) -> Floats:
        return np.full(steps.shape, at_step(fn, at, state))

    return value


class ChainedScheduler(SpecModel):
    """Apply every scheduler at once: the lr is the base times each child's factor.

    A child's factor is its lr divided by its base lr; a ReduceLROnPlateau child
    reduces the running product (its ``min_lr`` is a floor once it has reduced).
    """

    type: Literal["ChainedScheduler"] = "ChainedScheduler"
    schedulers: Children

    def children(self) -> list[tuple[tuple[str | int, ...], SpecModel]]:
        return [(("schedulers", i), s) for i, s in enumerate(self.schedulers)]

    def compile(self, ctx: Context) -> Node:
        kids = [s.build(ctx.child("schedulers", i)) for i, s in enumerate(self.schedulers)]
        bases = ctx.base_lrs if ctx.base_lrs is not None else kids[0].bases
        hooks = []
        for i, kid in enumerate(kids):
            for hook in kid.hooks:
                if kid.transforms is not None and hasattr(hook, "with_inputs"):
                    inputs = tuple(_chain(bases[g], kids[:i], g) for g in range(ctx.num_groups))
                    hook = hook.with_inputs(inputs)
                hooks.append(hook)
        momentums = None
        for kid in kids:
            if kid.momentums is not None:
                momentums = kid.momentums
        units = [kid.unit for kid in kids]
        if all(
            unit is not None and kid.transforms is None
            for unit, kid in zip(units, kids, strict=True)
        ):
            return proportional(bases, _product(units), momentums, tuple(hooks))  # type: ignore[arg-type]
        lrs = tuple(_chain(bases[g], kids, g) for g in range(ctx.num_groups))
        return Node(lrs=lrs, bases=bases, momentums=momentums, hooks=tuple(hooks))


def _product(units: list[LrFn]) -> LrFn:
    def unit(steps: Steps, state: MetricState) -> Floats:
        value = units[0](steps, state)  # 1.0 * x is x: the same product as from 1.0
        for fn in units[1:]:
            value = value * fn(steps, state)
        return value

    return unit


def _chain(base: float, kids: list[Node], group: int) -> LrFn:
    parts: list[tuple[LrFn, float, TransformFn | None]] = [
        (
            kid.lrs[group],
            kid.bases[group],
            kid.transforms[group] if kid.transforms is not None else None,
        )
        for kid in kids
    ]

    def lr(steps: Steps, state: MetricState) -> Floats:
        value = np.full(steps.shape, base)
        for fn, kid_base, transform in parts:
            if transform is not None:
                value = transform(value, steps, state)
            elif kid_base:
                value = value * (fn(steps, state) / kid_base)
            else:
                value = np.zeros(steps.shape)
        return value

    return lr
