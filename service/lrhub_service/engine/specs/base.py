"""The base of every spec model, shared field types, and helpers to compile leaves."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ..curves import Curve
from ..node import Context, Floats, LrFn, Node, Steps, proportional
from ..state import MetricState

NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]
PerGroup = NonNegative | Annotated[list[NonNegative], Field(min_length=1)]
"""A number, or one number per parameter group."""

Problem = tuple[tuple[str | int, ...], str]
"""A cross-field problem: the field path relative to the spec, and the reason."""


class SpecModel(BaseModel):
    """A schedule spec: validated, immutable, compiled to a :class:`Node` on demand."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    base_lr: PerGroup | None = Field(
        default=None,
        description="Initial lr, one number or one per group; default: the optimizer's.",
    )

    def problems(self) -> Iterator[Problem]:
        """Checks that involve several fields (the field types check the rest)."""
        return iter(())

    def children(self) -> list[tuple[tuple[str | int, ...], SpecModel]]:
        """Nested specs with their relative paths (composites override this)."""
        return []

    def needs_base(self) -> bool:
        """Whether compiling needs a base lr from the spec or the optimizer."""
        if self.base_lr is not None:
            return False
        kids = self.children()
        return not kids or any(child.needs_base() for _, child in kids)

    def group_hint(self) -> int | None:
        """How many groups the spec's own per-group lists imply (None: any)."""
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, list) and value and not isinstance(value[0], SpecModel):
                return len(value)
        for _, child in self.children():
            hint = child.group_hint()
            if hint is not None:
                return hint
        return None

    def build(self, ctx: Context) -> Node:
        """Compile with this spec's own ``base_lr`` (if any) overriding the inherited one."""
        return self.compile(ctx.with_base(self.base_lr))

    def compile(self, ctx: Context) -> Node:
        """This spec as per-group functions of the step (``ctx`` already has the base lrs)."""
        raise NotImplementedError


def lift(curve: Curve) -> LrFn:
    """A curve of the step as a node function (which ignores the metric state)."""

    def lr(steps: Steps, state: MetricState) -> Floats:
        return curve(steps)

    return lr


def leaf(ctx: Context, build: Callable[[float], Curve]) -> Node:
    """A node with one curve per group, built from each group's base lr."""
    bases = ctx.require_bases()
    return Node(lrs=tuple(lift(build(base)) for base in bases), bases=bases)


def scaled_leaf(ctx: Context, factor: Curve) -> Node:
    """A node whose lr is each group's base lr times one shared factor of the step."""
    return proportional(ctx.require_bases(), lift(factor))
