"""The seed's techniques beyond torch, as spec types in the same style as torch's.

Warmup, SGDR (float T_mult, restart-peak decay), WarmupStableDecay, InverseSqrt,
LRRangeTest (with :func:`range_test_suggestions`), DivergenceGuard,
BatchSizeScaling and PerEpoch. See docs/schedules.md, "Beyond torch".
"""

from .batch import BatchSizeScaling
from .epochs import PerEpoch
from .guard import DivergenceGuard
from .phases import InverseSqrt, WarmupStableDecay
from .range_test import LRRangeTest
from .restarts import SGDR
from .suggestions import SUGGESTION_METHODS, range_test_suggestions, smooth_losses
from .warmup import Warmup

__all__ = [
    "SGDR",
    "SUGGESTION_METHODS",
    "BatchSizeScaling",
    "DivergenceGuard",
    "InverseSqrt",
    "LRRangeTest",
    "PerEpoch",
    "Warmup",
    "WarmupStableDecay",
    "range_test_suggestions",
    "smooth_losses",
]
