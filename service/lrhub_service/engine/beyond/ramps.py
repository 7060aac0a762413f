"""Shared closed forms of the beyond-torch types: ramps and decay shapes on [0, 1]."""

from __future__ import annotations

import math
from typing import Literal

RampShape = Literal["linear", "cosine", "exponential"]
DecayShape = Literal["linear", "cosine", "sqrt"]


def ramp(start: float, target: float, progress: float, shape: RampShape) -> float:
    """Move from ``start`` (progress 0) to ``target`` (progress 1) along ``shape``.

    ``exponential`` is geometric (equal ratios per step) and needs ``start > 0``; a
    target of 0 makes it fall to 0 at once.
    """
    if shape == "linear":
        return start + (target - start) * progress
    if shape == "cosine":
        return start + (target - start) * (1.0 - math.cos(math.pi * progress)) / 2.0
    if target <= 0.0:
        return start if progress == 0.0 else 0.0
    return start * (target / start) ** progress


def decay(progress: float, shape: DecayShape) -> float:
    """A factor falling from 1 (progress 0) to 0 (progress 1)."""
    if shape == "linear":
        return 1.0 - progress
    if shape == "cosine":
        return (1.0 + math.cos(math.pi * progress)) / 2.0
    return 1.0 - math.sqrt(progress)
