"""Every spec type, in one plain list; the ``"type"`` union is built from it.

To add a type: import its model here and append it to ``SPEC_TYPES``.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from .beyond import (
    SGDR,
    BatchSizeScaling,
    CosineDecay,
    CycleAnneal,
    DivergenceGuard,
    GreedyLR,
    InverseSqrt,
    LRNoise,
    LRRangeTest,
    Offset,
    PerEpoch,
    Warmup,
    WarmupStableDecay,
)
from .compat import TimmSchedule, TransformersSchedule
from .specs.base import SpecModel
from .specs.composite import ChainedScheduler, SequentialLR
from .specs.custom import LambdaLR, MultiplicativeLR
from .specs.cyclic import CyclicLR, OneCycleLR
from .specs.decay import (
    ConstantLR,
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    ExponentialLR,
    LinearLR,
    MultiStepLR,
    PolynomialLR,
    StepLR,
)
from .specs.plateau import ReduceLROnPlateau

SPEC_TYPES: list[type[SpecModel]] = [
    LambdaLR,
    MultiplicativeLR,
    StepLR,
    MultiStepLR,
    ConstantLR,
    LinearLR,
    ExponentialLR,
    PolynomialLR,
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    CyclicLR,
    OneCycleLR,
    ReduceLROnPlateau,
    SequentialLR,
    ChainedScheduler,
    # beyond torch (engine/beyond/)
    Warmup,
    SGDR,
    WarmupStableDecay,
    InverseSqrt,
    LRRangeTest,
    DivergenceGuard,
    BatchSizeScaling,
    PerEpoch,
    CycleAnneal,
    CosineDecay,
    Offset,
    GreedyLR,
    LRNoise,
    # library-exact compat forms (engine/compat/)
    TransformersSchedule,
    TimmSchedule,
]


@cache
def spec_adapter() -> TypeAdapter[Any]:
    """The ``"type"``-discriminated union of ``SPEC_TYPES``: what parsing validates with and
    what the OpenAPI document describes (one source for both)."""
    members = tuple(SPEC_TYPES)
    any_spec = Annotated[Union[members], Field(discriminator="type")]  # noqa: UP007
    for model in members:
        model.model_rebuild(force=True, _types_namespace={"AnySpec": any_spec})
    return TypeAdapter(any_spec)
