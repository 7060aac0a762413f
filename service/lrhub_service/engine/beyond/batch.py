"""BatchSizeScaling: scale a reference lr (or schedule) to the actual global batch size."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from ..node import Context, Floats, LrFn, Node, Steps, constant_node
from ..specs.base import PerGroup, Problem, SpecModel
from ..state import MetricState

if TYPE_CHECKING:
    AnySpec = Any

BatchSize = Annotated[int, Field(gt=0, le=10**9)]
LINEAR_LIMIT = 32.0  # Goyal et al. saw the linear rule hold up to 8k images (32 x 256)


class BatchSizeScaling(SpecModel):
    """lr = reference lr x ``batch_size / reference_batch_size`` (``rule: linear``) or its
    square root (``sqrt``), capped at ``max_lr``.

    The reference is ``reference_lr`` (a constant) or a wrapped ``schedule``. When the
    factor exceeds ``warmup_threshold``, ``auto_warmup_steps`` adds a linear warm-up from
    the unscaled to the scaled lr (Goyal et al. used 5 epochs); without it the spec's
    ``warnings`` say so. ``warnings`` is filled in by validation (input is ignored).
    """

    type: Literal["BatchSizeScaling"] = "BatchSizeScaling"
    reference_batch_size: BatchSize
    batch_size: BatchSize
    rule: Literal["linear", "sqrt"] = "linear"
    reference_lr: PerGroup | None = None
    schedule: AnySpec | None = None
    max_lr: PerGroup | None = None
    warmup_threshold: Annotated[float, Field(ge=1)] = 2.0
    auto_warmup_steps: Annotated[int, Field(gt=0)] | None = None
    warnings: list[str] = Field(default_factory=list)

    @property
    def factor(self) -> float:
        ratio = self.batch_size / self.reference_batch_size
        return ratio if self.rule == "linear" else math.sqrt(ratio)

    @model_validator(mode="after")
    def _fill_warnings(self) -> BatchSizeScaling:
        found = []
        factor, rule = self.factor, self.rule
        scale = (
            f"the lr is scaled {factor:.4g}x (batch {self.batch_size}"
            f" vs {self.reference_batch_size}, {rule} rule)"
        )
        if factor > self.warmup_threshold and self.auto_warmup_steps is None:
            found.append(
                f"{scale}: large-batch training needs a warm-up; set auto_warmup_steps"
                " (Goyal et al. warmed up over 5 epochs) or wrap the schedule in a Warmup"
            )
        if rule == "linear" and factor > LINEAR_LIMIT:
            found.append(
                f"{scale}: the linear rule breaks down for very large batches;"
                " consider rule 'sqrt', a max_lr cap or a longer warm-up"
            )
        object.__setattr__(self, "warnings", found)
        return self

    def group_hint(self) -> int | None:
        for value in (self.reference_lr, self.max_lr):
            if isinstance(value, list):
                return len(value)
        return None if self.schedule is None else self.schedule.group_hint()

    def needs_base(self) -> bool:
        return self.reference_lr is None and super().needs_base()

    def children(self) -> list[tuple[tuple[str | int, ...], SpecModel]]:
        return [] if self.schedule is None else [(("schedule",), self.schedule)]

    def problems(self) -> Iterator[Problem]:
        if (self.reference_lr is None) == (self.schedule is None):
            yield (("reference_lr",), "give exactly one of reference_lr or schedule")

    def compile(self, ctx: Context) -> Node:
        if self.schedule is not None:
            inner = self.schedule.build(ctx.child("schedule"))
        else:
            inner = constant_node(ctx.per_group("reference_lr", self.reference_lr or 0.0))
        caps = (math.inf,) * ctx.num_groups
        if self.max_lr is not None:
            caps = ctx.per_group("max_lr", self.max_lr)
        warm = self.auto_warmup_steps if self.factor > self.warmup_threshold else None
        lrs = tuple(
            _scaled(fn, self.factor, cap, warm) for fn, cap in zip(inner.lrs, caps, strict=True)
        )
        bases = tuple(min(b * self.factor, cap) for b, cap in zip(inner.bases, caps, strict=True))
        return Node(lrs=lrs, bases=bases, momentums=inner.momentums, hooks=inner.hooks)


def _scaled(fn: LrFn, factor: float, cap: float, warm: int | None) -> LrFn:
    def lr(steps: Steps, state: MetricState) -> Floats:
        scale: Floats | float = factor
        if warm is not None:
            scale = np.where(steps < warm, 1.0 + (factor - 1.0) * steps / warm, factor)
        return np.minimum(fn(steps, state) * scale, cap)

    return lr
