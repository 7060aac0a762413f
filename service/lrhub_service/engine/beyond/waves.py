"""CosineDecay: transformers' cosine factor, with waves, hard restarts and a floor ratio."""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from ..curves import Floats, Steps
from ..node import Context, Node
from ..specs.base import SpecModel, scaled_leaf


class CosineDecay(SpecModel):
    """``num_cycles`` cosine waves over ``decay_steps`` (0.5: from the base lr down to the
    floor), floored at ``base * min_lr_ratio``; the wave continues after ``decay_steps``.

    ``restarts: true`` makes ``num_cycles`` falling half-waves (hard restarts) over
    ``decay_steps`` and 0 from then on.
    """

    type: Literal["CosineDecay"] = "CosineDecay"
    decay_steps: Annotated[int, Field(gt=0)]
    num_cycles: Annotated[float, Field(ge=0)] = 0.5
    min_lr_ratio: Annotated[float, Field(ge=0, le=1)] = 0.0
    restarts: bool = False

    def compile(self, ctx: Context) -> Node:
        cycles, ratio, span = float(self.num_cycles), self.min_lr_ratio, float(self.decay_steps)

        def factor(steps: Steps) -> Floats:
            progress = steps / span
            if self.restarts:
                wave = 0.5 * (1.0 + np.cos(math.pi * ((cycles * progress) % 1.0)))
                return np.where(progress >= 1.0, 0.0, np.maximum(0.0, wave))
            wave = 0.5 * (1.0 + np.cos(math.pi * cycles * 2.0 * progress))
            return np.maximum(0.0, wave * (1 - ratio) + ratio)

        return scaled_leaf(ctx, factor)
