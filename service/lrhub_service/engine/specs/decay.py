"""torch's decaying schedules as closed forms: StepLR ... CosineAnnealingWarmRestarts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .. import curves
from ..node import Context, Node
from .base import NonNegative, SpecModel, leaf, scaled_leaf

Steps = Annotated[int, Field(ge=0)]
PositiveSteps = Annotated[int, Field(gt=0)]


class StepLR(SpecModel):
    """Multiply the lr by ``gamma`` every ``step_size`` steps."""

    type: Literal["StepLR"] = "StepLR"
    step_size: PositiveSteps
    gamma: NonNegative = 0.1

    def compile(self, ctx: Context) -> Node:
        return scaled_leaf(ctx, curves.step_decay(self.gamma, self.step_size))


class MultiStepLR(SpecModel):
    """Multiply the lr by ``gamma`` at each milestone (any order; repeats apply twice)."""

    type: Literal["MultiStepLR"] = "MultiStepLR"
    milestones: list[Steps]
    gamma: NonNegative = 0.1

    def compile(self, ctx: Context) -> Node:
        return scaled_leaf(ctx, curves.multistep_decay(self.gamma, self.milestones))


class ConstantLR(SpecModel):
    """Use ``base * factor`` for the first ``total_iters`` steps, then ``base``."""

    type: Literal["ConstantLR"] = "ConstantLR"
    factor: Annotated[float, Field(ge=0, le=1)] = 1.0 / 3
    total_iters: Steps = 5

    def compile(self, ctx: Context) -> Node:
        return scaled_leaf(ctx, curves.constant_factor(self.factor, self.total_iters))


class LinearLR(SpecModel):
    """Move the factor linearly from ``start_factor`` to ``end_factor`` over ``total_iters``."""

    type: Literal["LinearLR"] = "LinearLR"
    start_factor: Annotated[float, Field(gt=0, le=1)] = 1.0 / 3
    end_factor: Annotated[float, Field(ge=0, le=1)] = 1.0
    total_iters: Steps = 5

    def compile(self, ctx: Context) -> Node:
        return scaled_leaf(
            ctx, curves.linear_factor(self.start_factor, self.end_factor, self.total_iters)
        )


class ExponentialLR(SpecModel):
    """Multiply the lr by ``gamma`` every step."""

    type: Literal["ExponentialLR"] = "ExponentialLR"
    gamma: NonNegative

    def compile(self, ctx: Context) -> Node:
        return scaled_leaf(ctx, curves.exponential(self.gamma))


class PolynomialLR(SpecModel):
    """Decay to 0 over ``total_iters`` steps as ``(1 - step / total_iters) ** power``."""

    type: Literal["PolynomialLR"] = "PolynomialLR"
    total_iters: PositiveSteps = 5
    power: NonNegative = 1.0

    def compile(self, ctx: Context) -> Node:
        return scaled_leaf(ctx, curves.polynomial(self.total_iters, self.power))


class CosineAnnealingLR(SpecModel):
    """Half a cosine from the base lr to ``eta_min`` over ``T_max`` steps, then hold.

    ``periodic: true`` continues as torch does (the cosine rises again after T_max).
    """

    type: Literal["CosineAnnealingLR"] = "CosineAnnealingLR"
    T_max: PositiveSteps
    eta_min: NonNegative = 0.0
    periodic: bool = False

    def compile(self, ctx: Context) -> Node:
        return leaf(ctx, lambda b: curves.cosine(b, self.T_max, self.eta_min, self.periodic))


class CosineAnnealingWarmRestarts(SpecModel):
    """SGDR: cosine cycles of ``T_0``, ``T_0 * T_mult``, ... steps, each restarting at base."""

    type: Literal["CosineAnnealingWarmRestarts"] = "CosineAnnealingWarmRestarts"
    T_0: PositiveSteps
    T_mult: Annotated[int, Field(ge=1)] = 1
    eta_min: NonNegative = 0.0

    def compile(self, ctx: Context) -> Node:
        return leaf(ctx, lambda b: curves.cosine_restarts(b, self.T_0, self.T_mult, self.eta_min))
