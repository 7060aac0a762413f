"""SGDR: cosine warm restarts with a real-valued cycle growth and a decaying peak."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from ..curves import Curve, Floats, Steps, restart_table
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


def cycle_start(index: Any, t_0: int, t_mult: float) -> Any:
    """The global step at which cycle ``index`` starts (exact for an integer ``T_mult``)."""
    if t_mult == 1.0:
        return np.multiply(index, float(t_0))
    if t_mult.is_integer() and np.ndim(index) == 0:
        whole = int(t_mult)
        return float(t_0 * (whole ** int(index) - 1) // (whole - 1))
    return t_0 * (np.power(t_mult, index) - 1.0) / (t_mult - 1.0)


def restart_cycle(steps: Any, t_0: int, t_mult: float) -> tuple[Any, Any, Any]:
    """``(i, T_cur, T_i)`` at one step (Python numbers) or at an array of steps."""
    if np.ndim(steps) == 0:
        index, t_cur, t_i = _restart_cycles(np.array([steps], dtype=np.int64), t_0, t_mult)
        return int(index[0]), float(t_cur[0]), float(t_i[0])
    return _restart_cycles(steps, t_0, t_mult)


def _restart_cycles(steps: Steps, t_0: int, t_mult: float) -> tuple[Floats, Floats, Floats]:
    """``(i, T_cur, T_i)`` per step: the cycle holding it, the position in it, its length.

    For an integer ``T_mult`` the cycle starts are exact integers (a table, bisected);
    otherwise the cycle index comes from a logarithm, then is corrected against the
    cycle starts, so a step on a boundary always opens the new cycle. O(1) per step.
    """
    if t_mult == 1.0:
        index = steps // t_0
        return (
            index.astype(np.float64),
            (steps - index * t_0).astype(np.float64),
            np.full(steps.shape, float(t_0)),
        )
    if t_mult.is_integer():
        starts, lengths = restart_table(t_0, int(t_mult))
        index = np.searchsorted(starts, steps, side="right") - 1
        return index.astype(np.float64), (steps - starts[index]).astype(np.float64), lengths[index]
    at = steps.astype(np.float64)
    index = np.maximum(0.0, np.floor(np.log1p(at * (t_mult - 1.0) / t_0) / math.log(t_mult)))
    for _ in range(64):  # the logarithm is off by at most one or two cycles
        up = cycle_start(index + 1, t_0, t_mult) <= at
        down = (index > 0) & (cycle_start(index, t_0, t_mult) > at)
        if not (up.any() or down.any()):
            break
        index = index + up - down
    return index, at - cycle_start(index, t_0, t_mult), t_0 * np.power(t_mult, index)


def _curve(base: float, floor: float, t_0: int, t_mult: float, restart_decay: float) -> Curve:
    def curve(steps: Steps) -> Floats:
        index, t_cur, t_i = restart_cycle(steps, t_0, t_mult)
        peak: Floats | float = base
        if restart_decay != 1.0:
            peak = np.maximum(floor, base * np.power(restart_decay, index))
        return floor + (peak - floor) * (1 + np.cos(math.pi * t_cur / t_i)) / 2

    return curve
