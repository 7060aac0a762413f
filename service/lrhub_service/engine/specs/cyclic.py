"""CyclicLR and OneCycleLR: cycling lrs with momentum cycled the opposite way."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from .. import curves
from ..curves import Floats, Steps
from ..errors import SpecError
from ..node import Context, LrFn, Node, proportional
from .base import PerGroup, Positive, Problem, SpecModel, lift
from .custom import compile_per_group, expression_problems, probe

Count = Annotated[int, Field(gt=0)]


class CyclicLR(SpecModel):
    """Triangular cycles between ``base_lr`` and ``max_lr`` (Smith's CLR policies)."""

    type: Literal["CyclicLR"] = "CyclicLR"
    max_lr: PerGroup
    step_size_up: Count = 2000
    step_size_down: Annotated[int, Field(ge=0)] | None = None
    mode: Literal["triangular", "triangular2", "exp_range"] = "triangular"
    gamma: Positive = 1.0
    scale_fn: Annotated[str, Field(min_length=1)] | None = None
    scale_mode: Literal["cycle", "iterations"] = "cycle"
    cycle_momentum: bool = True
    base_momentum: PerGroup = 0.8
    max_momentum: PerGroup = 0.9

    def problems(self) -> Iterator[Problem]:
        if self.scale_fn is not None:
            yield from expression_problems(self.scale_fn, "scale_fn")

    def _scale(self, ctx: Context) -> tuple[Callable[[Floats], Floats] | None, bool]:
        """The amplitude scale (None: always 1) and whether it takes the cycle number
        (else the step)."""
        if self.scale_fn is not None:
            expr = compile_per_group(ctx, self.scale_fn, "scale_fn")[0]
            by_cycle = self.scale_mode == "cycle"
            probe([expr], (1, 2) if by_cycle else (0, 1))  # cycles count from 1
            return expr.evaluate, by_cycle
        if self.mode == "triangular":
            return None, True
        if self.mode == "triangular2":
            return (lambda x: 1 / curves.power(2.0, x - 1)), True
        gamma = self.gamma
        return (lambda x: curves.power(gamma, x)), False

    def compile(self, ctx: Context) -> Node:
        bases = ctx.require_bases()
        max_lrs = ctx.per_group("max_lr", self.max_lr)
        up = float(self.step_size_up)
        down = float(self.step_size_down) if self.step_size_down is not None else up
        total, ratio = up + down, up / (up + down)
        scale, by_cycle = self._scale(ctx)

        def wave(low: float, high: float, sign: float) -> LrFn:
            def value(steps: Steps, state: object) -> Floats:
                cycle, factor = curves.triangle(steps, total, ratio)
                height = (high - low) * factor
                amplitude = sign * height
                if scale is not None:
                    amplitude = amplitude * scale(cycle if by_cycle else steps)
                return (low if sign > 0 else high) + amplitude

            return value

        waves: dict[tuple[float, float, float], LrFn] = {}  # equal groups share one function

        def shared(low: float, high: float, sign: float) -> LrFn:
            return waves.setdefault((low, high, sign), wave(low, high, sign))

        lrs = tuple(shared(b, m, 1.0) for b, m in zip(bases, max_lrs, strict=True))
        momentums = None
        if self.cycle_momentum:
            lows = ctx.per_group("base_momentum", self.base_momentum)
            highs = ctx.per_group("max_momentum", self.max_momentum)
            momentums = tuple(shared(lo, hi, -1.0) for lo, hi in zip(lows, highs, strict=True))
        return Node(lrs=lrs, bases=bases, momentums=momentums)


class OneCycleLR(SpecModel):
    """One cycle: warm up to ``max_lr``, anneal far below the start; momentum the other way.

    From ``total_steps - 1`` on it holds its final value (torch raises past total_steps).
    """

    type: Literal["OneCycleLR"] = "OneCycleLR"
    max_lr: PerGroup
    total_steps: Count | None = None
    epochs: Count | None = None
    steps_per_epoch: Count | None = None
    pct_start: Annotated[float, Field(ge=0, le=1)] = 0.3
    anneal_strategy: Literal["cos", "linear"] = "cos"
    cycle_momentum: bool = True
    base_momentum: PerGroup = 0.85
    max_momentum: PerGroup = 0.95
    div_factor: Positive = 25.0
    final_div_factor: Positive = 1e4
    three_phase: bool = False

    def needs_base(self) -> bool:
        return False

    def problems(self) -> Iterator[Problem]:
        if self.base_lr is not None:
            yield ("base_lr",), "OneCycleLR starts at max_lr / div_factor; base_lr is not used"
        if self.total_steps is None and self.epochs is None:
            yield ("total_steps",), "give total_steps, or epochs and steps_per_epoch"

    def _total(self, ctx: Context) -> int:
        if self.total_steps is not None:
            return self.total_steps
        per_epoch = self.steps_per_epoch or ctx.steps_per_epoch
        if per_epoch is None or self.epochs is None:
            raise SpecError(
                "give total_steps, or epochs and steps_per_epoch", ctx.loc("steps_per_epoch")
            )
        return self.epochs * per_epoch

    def compile(self, ctx: Context) -> Node:
        total = self._total(ctx)
        max_lrs = ctx.per_group("max_lr", self.max_lr)
        initial = tuple(m / self.div_factor for m in max_lrs)
        pct = self.pct_start
        ends = [float(pct * total) - 1]
        if self.three_phase:
            ends.append(float(2 * pct * total) - 2)
        ends.append(total - 1)
        anneal = curves.anneal_cos if self.anneal_strategy == "cos" else curves.anneal_linear
        # every group's lr is its initial lr times one shared factor
        peak, low = self.div_factor, 1.0 / self.final_div_factor
        points = (1.0, peak, 1.0, low) if self.three_phase else (1.0, peak, low)
        unit = lift(_phased(ends, points, anneal, total))
        momentums = None
        if self.cycle_momentum:
            lows = ctx.per_group("base_momentum", self.base_momentum)
            highs = ctx.per_group("max_momentum", self.max_momentum)
            shared: dict[tuple[float, float], LrFn] = {}
            for lo, hi in zip(lows, highs, strict=True):
                moves = (hi, lo, hi, hi) if self.three_phase else (hi, lo, hi)
                shared.setdefault((lo, hi), lift(_phased(ends, moves, anneal, total)))
            momentums = tuple(shared[(lo, hi)] for lo, hi in zip(lows, highs, strict=True))
        return proportional(initial, unit, momentums)


def _phased(
    ends: list[float],
    points: tuple[float, ...],
    anneal: Callable[[Floats, Floats, Floats], Floats],
    total: int,
) -> curves.Curve:
    """torch's phase walk: phase i anneals points[i] -> points[i+1] up to ends[i]."""
    bounds = np.asarray(ends[:-1])  # the phase of a step: the first end at or after it
    starts = np.asarray([0.0, *ends[:-1]])
    spans = np.asarray(ends) - starts
    lows, highs = np.asarray(points[:-1]), np.asarray(points[1:])
    flat = not spans.all()  # a phase of length 0 (pct_start 0 or 1): its pct is 1

    def curve(steps: Steps) -> Floats:
        at = np.minimum(steps, total - 1)
        phase = np.searchsorted(bounds, at, side="left")
        start, span = starts[phase], spans[phase]
        if flat:
            pct = np.where(span != 0, (at - start) / np.where(span != 0, span, 1.0), 1.0)
        else:
            pct = (at - start) / span
        return anneal(lows[phase], highs[phase], pct)

    return curve
