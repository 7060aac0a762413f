"""Shared closed forms of the beyond-torch types: ramps and decay shapes on [0, 1]."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from ..curves import Floats

RampShape = Literal["linear", "cosine", "exponential", "1-sqrt"]
DecayShape = Literal["linear", "cosine", "sqrt", "1-sqrt", "power", "exp"]


def ramp(start: Any, target: Any, progress: Floats, shape: RampShape) -> Floats:
    """Move from ``start`` (progress 0) to ``target`` (progress 1) along ``shape``.

    ``exponential`` is geometric (equal ratios per step) and needs ``start > 0``; a
    target of 0 makes it fall to 0 at once. ``1-sqrt`` rises as ``1 - sqrt(1 - progress)``.
    """
    if shape == "linear":
        return start + (target - start) * progress
    if shape == "cosine":
        return start + (target - start) * (1.0 - np.cos(math.pi * progress)) / 2.0
    if shape == "1-sqrt":
        return start + (target - start) * (1.0 - np.sqrt(1.0 - progress))
    geometric = start * (target / start) ** progress
    return np.where(target <= 0.0, np.where(progress == 0.0, start, 0.0), geometric)


def decay(
    progress: Floats,
    shape: DecayShape,
    *,
    num_cycles: float = 0.5,
    power: float = 0.5,
    ratio: float = 0.1,
) -> Floats:
    """A factor falling from 1 (progress 0) to 0 (progress 1).

    ``cosine`` makes ``num_cycles`` waves (0.5: half a wave, to 0); ``power`` is
    ``1 - progress ** power``; ``exp`` is ``(ratio ** progress - ratio) / (1 - ratio)``.
    """
    if shape == "linear":
        return 1.0 - progress
    if shape == "cosine":
        return 0.5 * (1.0 + np.cos(math.pi * num_cycles * 2.0 * progress))
    if shape == "power":
        return 1.0 - progress**power
    if shape == "exp":
        return (ratio**progress - ratio) / (1.0 - ratio)
    return 1.0 - np.sqrt(progress)
