"""Warmup: a ramp in front of any schedule (linear, cosine or exponential)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from ..node import Context, Floats, LrFn, Node, RoutedHook, Steps, at_step
from ..specs.base import PerGroup, Problem, SpecModel
from ..state import MetricState
from .ramps import RampShape, ramp

if TYPE_CHECKING:
    AnySpec = Any

Factor = Annotated[float, Field(ge=0, le=1)]


class Warmup(SpecModel):
    """Ramp from ``start_factor`` x (or ``start_lr``) up to the wrapped schedule's value.

    ``shift: true`` starts the wrapped schedule's clock after the warm-up (its step 0
    is global step ``warmup_steps``); ``false`` keeps one global clock (a warm-up
    without prefix). ``target`` is what the ramp climbs to: the wrapped schedule's
    current value (``schedule``), the group's base lr (``base``), or the wrapped value
    where the warm-up ends (``end``).
    """

    type: Literal["Warmup"] = "Warmup"
    schedule: AnySpec
    warmup_steps: Annotated[int, Field(ge=0)]
    shape: RampShape = "linear"
    start_factor: Factor | None = None
    start_lr: PerGroup | None = None
    shift: bool = True
    target: Literal["schedule", "base", "end"] = "schedule"

    @model_validator(mode="before")
    @classmethod
    def _default_start(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and data.get("start_factor") is None
            and data.get("start_lr") is None
        ):
            data = {**data, "start_factor": 0.01 if data.get("shape") == "exponential" else 0.0}
        return data

    def children(self) -> list[tuple[tuple[str | int, ...], SpecModel]]:
        return [(("schedule",), self.schedule)]

    def problems(self) -> Iterator[Problem]:
        if self.start_lr is not None and self.start_factor is not None:
            yield (("start_lr",), "give start_factor or start_lr, not both")
        if self.shape == "exponential":
            if self.start_factor is not None and self.start_factor <= 0:
                yield (("start_factor",), "an exponential warm-up needs start_factor > 0")
            starts = self.start_lr if isinstance(self.start_lr, list) else [self.start_lr]
            if any(s is not None and s <= 0 for s in starts):
                yield (("start_lr",), "an exponential warm-up needs start_lr > 0")

    def compile(self, ctx: Context) -> Node:
        inner = self.schedule.build(ctx.child("schedule"))
        steps = self.warmup_steps
        if steps == 0:
            return inner
        starts = None if self.start_lr is None else ctx.per_group("start_lr", self.start_lr)
        lrs = tuple(
            _warm(
                fn,
                steps,
                self.shape,
                self.start_factor,
                None if starts is None else starts[g],
                self.shift,
                _aim(self.target, inner.bases[g], steps, self.shift),
            )
            for g, fn in enumerate(inner.lrs)
        )
        momentums = None
        if inner.momentums is not None:
            momentums = tuple(_clocked(fn, steps, self.shift) for fn in inner.momentums)
        offset = steps if self.shift else 0
        hooks = tuple(RoutedHook(hook, offset, steps, None) for hook in inner.hooks)
        return Node(lrs=lrs, bases=inner.bases, momentums=momentums, hooks=hooks)


def _aim(
    target: str, base: float, steps: int, shift: bool
) -> Callable[[LrFn, Steps, MetricState], Floats] | None:
    """What the ramp climbs to at warming steps (None: the wrapped schedule's value)."""
    if target == "base":
        return lambda fn, at, state: np.full(at.shape, base)
    if target == "end":
        end = 0 if shift else steps
        return lambda fn, at, state: np.full(at.shape, at_step(fn, end, state))
    return None


def _clocked(fn: LrFn, steps: int, shift: bool) -> LrFn:
    """The wrapped schedule's value at a global step (its clock held at 0 while warming)."""
    if not shift:
        return fn

    def value(at: Steps, state: MetricState) -> Floats:
        return fn(np.maximum(0, at - steps), state)

    return value


def _warm(
    fn: LrFn,
    steps: int,
    shape: RampShape,
    start_factor: float | None,
    start_lr: float | None,
    shift: bool,
    aim_at: Callable[[LrFn, Steps, MetricState], Floats] | None,
) -> LrFn:
    target_at = _clocked(fn, steps, shift)

    def lr(at: Steps, state: MetricState) -> Floats:
        target = target_at(at, state)
        warming = at < steps
        if not warming.any():
            return target
        aim = target[warming] if aim_at is None else aim_at(fn, at[warming], state)
        start = start_lr if start_lr is not None else aim * start_factor  # type: ignore[operator]
        values = target.copy()
        values[warming] = ramp(start, aim, at[warming] / steps, shape)
        return values

    return lr
