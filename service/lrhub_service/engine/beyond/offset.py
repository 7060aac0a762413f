"""Offset: a schedule started part-way into its own clock (a phase offset)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from ..node import Context, Floats, LrFn, Node, RoutedHook, Steps
from ..specs.base import SpecModel
from ..state import MetricState

if TYPE_CHECKING:
    AnySpec = Any


class Offset(SpecModel):
    """``value[k] = schedule(k + steps)``: the wrapped schedule ``steps`` steps ahead."""

    type: Literal["Offset"] = "Offset"
    schedule: AnySpec
    steps: Annotated[int, Field(ge=0, le=2**40)]

    def children(self) -> list[tuple[tuple[str | int, ...], SpecModel]]:
        return [(("schedule",), self.schedule)]

    def compile(self, ctx: Context) -> Node:
        inner = self.schedule.build(ctx.child("schedule"))
        ahead = self.steps
        if ahead == 0:
            return inner
        moms = None if inner.momentums is None else tuple(_ahead(f, ahead) for f in inner.momentums)
        hooks = tuple(RoutedHook(hook, -ahead, -1, None) for hook in inner.hooks)
        return Node(
            lrs=tuple(_ahead(f, ahead) for f in inner.lrs),
            bases=inner.bases,
            momentums=moms,
            hooks=hooks,
        )


def _ahead(fn: LrFn, ahead: int) -> LrFn:
    def value(steps: Steps, state: MetricState) -> Floats:
        return fn(steps + ahead, state)

    return value
