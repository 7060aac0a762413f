"""SGDR: cosine warm restarts with a real-valued cycle growth and a decaying peak."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field

from ..curves import Curve
from ..node import Context, Node
from ..specs.base import PerGroup, SpecModel, lift


class SGDR(SpecModel):
    """Cosine cycles of ``T_0``, ``T_0*T_mult``, ``T_0*T_mult**2``... steps (``T_mult`` >= 1, any
    real number); restart ``i`` peaks at ``base_lr * restart_decay**i`` (never below ``eta_min``).

    With an integer ``T_mult`` and ``restart_decay: 1`` it equals torch's
    CosineAnnealingWarmRestarts.
    """

    type: Literal["SGDR"] = "SGDR"
    T_0: Annotated[int, Field(gt=0)]
    T_mult: Annotated[float, Field(ge=1, le=1e6)] = 1.0
    eta_min: PerGroup = 0.0
    restart_decay: Annotated[float, Field(gt=0, le=1)] = 1.0

    def compile(self, ctx: Context) -> Node:
        bases = ctx.require_bases()
        floors = ctx.per_group("eta_min", self.eta_min)
        lrs = tuple(
            lift(_curve(base, floor, self.T_0, self.T_mult, self.restart_decay))
            for base, floor in zip(bases, floors, strict=True)
        )
        return Node(lrs=lrs, bases=bases)


def cycle_start(index: int, t_0: int, t_mult: float) -> float:
    """The global step at which cycle ``index`` starts (exact for an integer ``T_mult``)."""
    if t_mult == 1.0:
        return float(index * t_0)
    if t_mult.is_integer() and index < 4096:
        whole = int(t_mult)
        return float(t_0 * (whole**index - 1) // (whole - 1))
    return t_0 * (t_mult**index - 1.0) / (t_mult - 1.0)


def restart_cycle(step: int, t_0: int, t_mult: float) -> tuple[int, float, float]:
    """``(i, T_cur, T_i)``: the cycle holding ``step``, the position in it, its length.

    The cycle index comes from a logarithm, then is corrected against the exact cycle
    starts, so a step on a boundary always opens the new cycle. O(1) in the step.
    """
    if t_mult == 1.0:
        index = step // t_0
        return index, float(step - index * t_0), float(t_0)
    guess = math.log1p(step * (t_mult - 1.0) / t_0) / math.log(t_mult)
    index = max(0, int(guess))
    while cycle_start(index + 1, t_0, t_mult) <= step:
        index += 1
    while index > 0 and cycle_start(index, t_0, t_mult) > step:
        index -= 1
    length = t_0 * int(t_mult) ** index if t_mult.is_integer() else t_0 * t_mult**index
    return index, step - cycle_start(index, t_0, t_mult), float(length)


def _curve(base: float, floor: float, t_0: int, t_mult: float, restart_decay: float) -> Curve:
    def curve(step: int) -> float:
        index, t_cur, t_i = restart_cycle(step, t_0, t_mult)
        peak = max(floor, base * restart_decay**index) if restart_decay != 1.0 else base
        return floor + (peak - floor) * (1 + math.cos(math.pi * t_cur / t_i)) / 2

    return curve
