"""The seed's techniques beyond torch, as spec types in the same style as torch's.

Warmup, SGDR (float T_mult, restart-peak decay), WarmupStableDecay, InverseSqrt,
LRRangeTest (with :func:`range_test_suggestions`), DivergenceGuard,
BatchSizeScaling and PerEpoch; the library-shaped primitives CycleAnneal, CosineDecay,
Offset, GreedyLR and LRNoise. See docs/schedules.md, "Beyond torch".
"""

from .batch import BatchSizeScaling
from .cycles import CycleAnneal
from .epochs import PerEpoch
from .greedy import GreedyLR
from .guard import DivergenceGuard
from .noise import LRNoise
from .offset import Offset
from .phases import InverseSqrt
from .range_test import LRRangeTest
from .restarts import SGDR
from .suggestions import SUGGESTION_METHODS, range_test_suggestions, smooth_losses
from .warmup import Warmup
from .waves import CosineDecay
from .wsd import WarmupStableDecay

__all__ = [
    "SGDR",
    "SUGGESTION_METHODS",
    "BatchSizeScaling",
    "CosineDecay",
    "CycleAnneal",
    "DivergenceGuard",
    "GreedyLR",
    "InverseSqrt",
    "LRNoise",
    "LRRangeTest",
    "Offset",
    "PerEpoch",
    "Warmup",
    "WarmupStableDecay",
    "range_test_suggestions",
    "smooth_losses",
]
