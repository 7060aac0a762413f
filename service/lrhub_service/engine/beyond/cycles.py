"""CycleAnneal: cosine, tanh or polynomial cycles of real length, growing, decaying, limited.

The cycle structure of timm's cosine, tanh and poly schedulers as one closed form: cycle
``i`` lasts ``T_0 * T_mult ** i`` steps and peaks at ``base * restart_decay ** i``; after
``cycle_limit`` cycles the lr holds ``eta_min``. The cycle index follows timm's own
rule (a floating-point logarithm through the C library), so values equal timm's at
every step, cycle boundaries included.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from ..curves import Curve, Floats, Steps
from ..node import Context, Node
from ..specs.base import PerGroup, Problem, SpecModel, lift

Shape = Literal["cosine", "tanh", "poly", "constant"]


class CycleAnneal(SpecModel):
    """Anneal from each cycle's peak to ``eta_min`` along ``shape``, cycle after cycle.

    ``constant`` holds each cycle's peak (a step decay of real period ``T_0``).
    ``k_decay`` bends the cosine and poly shapes (``t ** k / T ** k``, k-decay);
    ``power`` is the poly shape's exponent; ``lb`` and ``ub`` bound the tanh argument.
    ``cycle_limit: null`` repeats forever.
    """

    type: Literal["CycleAnneal"] = "CycleAnneal"
    T_0: Annotated[float, Field(gt=0)]
    T_mult: Annotated[float, Field(gt=0, le=1e6)] = 1.0
    restart_decay: Annotated[float, Field(ge=0)] = 1.0
    cycle_limit: Annotated[int, Field(ge=0)] | None = 1
    eta_min: PerGroup = 0.0
    shape: Shape = "cosine"
    k_decay: Annotated[float, Field(gt=0)] = 1.0
    power: Annotated[float, Field(ge=0)] = 1.0
    lb: float = -7.0
    ub: float = 3.0

    def problems(self) -> Iterator[Problem]:
        if self.lb >= self.ub:
            yield (("lb",), "must be < ub")

    def compile(self, ctx: Context) -> Node:
        bases = ctx.require_bases()
        floors = ctx.per_group("eta_min", self.eta_min)
        lrs = tuple(lift(_curve(self, b, f)) for b, f in zip(bases, floors, strict=True))
        return Node(lrs=lrs, bases=bases)


def cycle_index(inner: Floats, t_mult: float) -> Floats:
    """``floor(log(inner) / log(t_mult))`` exactly as Python's ``math.log`` computes it.

    numpy's logarithm may differ from the C library's by an ulp, which only matters where
    the quotient is (nearly) a whole number: those elements are computed again with
    ``math.log``. NaN where ``inner <= 0``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        quotient = np.log(np.where(inner > 0, inner, np.nan)) / math.log(t_mult)
    near = np.abs(quotient - np.round(quotient)) < 1e-9
    if near.any():
        exact = [math.log(v) / math.log(t_mult) for v in inner[near].tolist()]
        quotient[near] = exact
    return np.floor(quotient)


def cycle_position(t: Floats, t_0: float, t_mult: float) -> tuple[Floats, Floats, Floats]:
    """``(i, t_cur, t_i)``: timm's cycle index, position in the cycle and cycle length."""
    if t_mult == 1.0:
        index = t // t_0
        return index, t - t_0 * index, np.full(t.shape, t_0)
    index = cycle_index(1 - t / t_0 * (1 - t_mult), t_mult)
    grown = np.power(t_mult, index)
    return index, t - (1 - grown) / (1 - t_mult) * t_0, grown * t_0


def _curve(spec: CycleAnneal, base: float, floor: float) -> Curve:
    k = spec.k_decay

    def curve(steps: Steps) -> Floats:
        index, t_cur, t_i = cycle_position(steps.astype(np.float64), spec.T_0, spec.T_mult)
        peak = base * np.power(spec.restart_decay, index) if spec.restart_decay != 1 else base
        if spec.shape == "tanh":
            tr = t_cur / t_i
            shape = 0.5 * (1 - np.tanh(spec.lb * (1.0 - tr) + spec.ub * tr))
            values = floor + (peak - floor) * shape
        elif spec.shape == "constant":
            values = peak + np.zeros(t_cur.shape)
        elif spec.shape == "cosine":
            values = floor + 0.5 * (peak - floor) * (1 + np.cos(math.pi * t_cur**k / t_i**k))
        else:
            values = floor + (peak - floor) * (1 - t_cur**k / t_i**k) ** spec.power
        if spec.cycle_limit is None:
            return np.asarray(values, dtype=np.float64)
        return np.where(index < spec.cycle_limit, values, floor)

    return curve
