"""Shared closed forms of the beyond-torch types: ramps and decay shapes on [0, 1]."""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from ..curves import Floats

RampShape = Literal["linear", "cosine", "exponential"]
DecayShape = Literal["linear", "cosine", "sqrt"]


def ramp(start: Any, target: Any, progress: Floats, shape: RampShape) -> Floats:
    """Move from ``start`` (progress 0) to ``target`` (progress 1) along ``shape``.

    ``exponential`` is geometric (equal ratios per step) and needs ``start > 0``; a
    target of 0 makes it fall to 0 at once.
    """
    if shape == "linear":
        return start + (target - start) * progress
    if shape == "cosine":
        return start + (target - start) * (1.0 - np.cos(math.pi * progress)) / 2.0
    geometric = start * (target / start) ** progress
    return np.where(target <= 0.0, np.where(progress == 0.0, start, 0.0), geometric)


def decay(progress: Floats, shape: DecayShape) -> Floats:
    """A factor falling from 1 (progress 0) to 0 (progress 1)."""
    if shape == "linear":
        return 1.0 - progress
    if shape == "cosine":
        return (1.0 + np.cos(math.pi * progress)) / 2.0
    return 1.0 - np.sqrt(progress)
