"""The inverse-square-root schedule (warmup-stable-decay is in ``wsd.py``)."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from ..curves import Floats
from ..curves import Steps as StepArray
from ..node import Context, Node
from ..specs.base import SpecModel, scaled_leaf

Steps = Annotated[int, Field(ge=0)]


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
