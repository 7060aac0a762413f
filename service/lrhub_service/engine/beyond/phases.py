"""Transformer-era shapes: warmup-stable-decay and inverse square root."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from ..curves import Curve, Floats
from ..curves import Steps as StepArray
from ..node import Context, Node
from ..specs.base import Problem, SpecModel, scaled_leaf
from .ramps import DecayShape, RampShape, decay, ramp

Steps = Annotated[int, Field(ge=0)]


class WarmupStableDecay(SpecModel):
    """Warm up over ``warmup_steps``, hold the base lr for ``stable_steps``, then decay to
    ``base_lr * min_lr_ratio`` over ``decay_steps`` (``linear``, ``cosine`` or ``sqrt``,
    i.e. ``1 - sqrt(progress)``) and hold it."""

    type: Literal["WarmupStableDecay"] = "WarmupStableDecay"
    warmup_steps: Steps = 0
    stable_steps: Steps
    decay_steps: Steps
    warmup_shape: RampShape = "linear"
    warmup_start_factor: Annotated[float, Field(ge=0, le=1)] = 0.0
    decay_shape: DecayShape = "cosine"
    min_lr_ratio: Annotated[float, Field(ge=0, le=1)] = 0.0

    def problems(self) -> Iterator[Problem]:
        if self.warmup_shape == "exponential" and self.warmup_start_factor <= 0:
            yield (("warmup_start_factor",), "an exponential warm-up needs a start factor > 0")

    def compile(self, ctx: Context) -> Node:
        return scaled_leaf(ctx, _wsd(self))


def _wsd(spec: WarmupStableDecay) -> Curve:
    """The factor of the base lr at each step."""
    warm, stable_end = spec.warmup_steps, spec.warmup_steps + spec.stable_steps
    decay_end, ratio = stable_end + spec.decay_steps, spec.min_lr_ratio

    def curve(steps: StepArray) -> Floats:
        values = np.full(steps.shape, ratio)
        values[steps < stable_end] = 1.0
        warming = steps < warm
        if warming.any():
            progress = steps[warming] / warm
            values[warming] = ramp(spec.warmup_start_factor, 1.0, progress, spec.warmup_shape)
        decaying = (steps >= stable_end) & (steps < decay_end)
        if decaying.any():
            progress = (steps[decaying] - stable_end) / spec.decay_steps
            values[decaying] = 1.0 - (1.0 - ratio) * (1.0 - decay(progress, spec.decay_shape))
        return values

    return curve


class InverseSqrt(SpecModel):
    """Linear warm-up from 0 over ``warmup_steps``, then ``base / sqrt((step + shift) / timescale)``
    with ``shift = timescale - warmup_steps`` (as transformers' inverse-sqrt schedule);
    ``timescale`` defaults to ``warmup_steps``, or 10000 without a warm-up."""

    type: Literal["InverseSqrt"] = "InverseSqrt"
    warmup_steps: Steps = 0
    timescale: Annotated[int, Field(gt=0)] | None = None

    def compile(self, ctx: Context) -> Node:
        timescale = self.timescale or self.warmup_steps or 10_000
        warm = self.warmup_steps
        shift = timescale - warm

        def factor(steps: StepArray) -> Floats:
            values = 1.0 / np.sqrt(np.maximum(steps + shift, 1) / timescale)
            if warm:
                values = np.where(steps < warm, steps / warm, values)
            return values

        return scaled_leaf(ctx, factor)
