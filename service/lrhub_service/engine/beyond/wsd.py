"""WarmupStableDecay: warm-up, a stable phase (flat or slowly falling), then a decay."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from ..curves import Curve, Floats
from ..curves import Steps as StepArray
from ..node import Context, Node
from ..specs.base import PerGroup, Problem, SpecModel, lift, scaled_leaf
from .ramps import DecayShape, RampShape, decay, ramp

Steps = Annotated[int, Field(ge=0)]
StableShape = Literal["constant", "rsqrt", "power"]


class WarmupStableDecay(SpecModel):
    """Warm up over ``warmup_steps``, hold for ``stable_steps``, decay over ``decay_steps``.

    The stable phase is flat (``constant``) or falls as ``(1 + t / stable_timescale) **
    -p`` (``rsqrt``: p = 0.5; ``power``: p = ``stable_power``), ``t`` counted from the end
    of the warm-up and never below the floor. The decay multiplies the stable value's
    distance to the floor by a decay shape; the floor is ``min_lr`` (an lr) or
    ``base_lr * min_lr_ratio``, held after the decay.
    """

    type: Literal["WarmupStableDecay"] = "WarmupStableDecay"
    warmup_steps: Steps = 0
    stable_steps: Steps
    decay_steps: Steps
    warmup_shape: RampShape = "linear"
    warmup_start_factor: Annotated[float, Field(ge=0, le=1)] = 0.0
    stable_shape: StableShape = "constant"
    stable_timescale: Annotated[float, Field(gt=0)] | None = None
    stable_power: Annotated[float, Field(gt=0)] = 0.5
    decay_shape: DecayShape = "cosine"
    num_cycles: Annotated[float, Field(gt=0)] = 0.5
    decay_power: Annotated[float, Field(gt=0)] = 0.5
    decay_ratio: Annotated[float, Field(gt=0, lt=1)] = 0.1
    min_lr_ratio: Annotated[float, Field(ge=0, le=1)] = 0.0
    min_lr: PerGroup | None = None

    def problems(self) -> Iterator[Problem]:
        if self.warmup_shape == "exponential" and self.warmup_start_factor <= 0:
            yield (("warmup_start_factor",), "an exponential warm-up needs a start factor > 0")
        if self.stable_shape != "constant" and self.stable_timescale is None:
            yield (("stable_timescale",), f"a {self.stable_shape} stable phase needs a timescale")
        if self.min_lr is not None and self.min_lr_ratio:
            yield (("min_lr",), "give min_lr or min_lr_ratio, not both")

    def compile(self, ctx: Context) -> Node:
        if self.min_lr is None:  # a floor relative to the base: one factor for every group
            return scaled_leaf(ctx, _wsd(self, 1.0, self.min_lr_ratio))
        floors = ctx.per_group("min_lr", self.min_lr)
        bases = ctx.require_bases()
        lrs = tuple(lift(_wsd(self, base, floors[g])) for g, base in enumerate(bases))
        return Node(lrs=lrs, bases=bases)


def _stable(spec: WarmupStableDecay, since: Floats) -> Floats | float:
    if spec.stable_shape == "constant":
        return 1.0
    power = 0.5 if spec.stable_shape == "rsqrt" else spec.stable_power
    return (1.0 + since / spec.stable_timescale) ** -power  # type: ignore[operator]


def _wsd(spec: WarmupStableDecay, base: float, floor: float) -> Curve:
    """One group's lr at each step."""
    warm, stable = spec.warmup_steps, spec.stable_steps
    decay_end = stable + spec.decay_steps

    def curve(steps: StepArray) -> Floats:
        since = (steps - warm).astype(np.float64)
        held = np.maximum(base * _stable(spec, since), floor) + np.zeros(since.shape)
        values = np.where(since >= decay_end, floor, held)
        decaying = (since >= stable) & (since < decay_end)
        if decaying.any():
            progress = (since[decaying] - stable) / spec.decay_steps
            shape = decay(
                progress,
                spec.decay_shape,
                num_cycles=spec.num_cycles,
                power=spec.decay_power,
                ratio=spec.decay_ratio,
            )
            values[decaying] = floor + (held[decaying] - floor) * shape
        warming = steps < warm
        if warming.any():
            start = base * spec.warmup_start_factor
            values[warming] = ramp(start, base, steps[warming] / warm, spec.warmup_shape)
        return np.asarray(values, dtype=np.float64)

    return curve
