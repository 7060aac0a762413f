"""PerEpoch: run an epoch-denominated spec when the job steps once per batch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from ..errors import SpecError
from ..node import Context, Floats, HookOutcome, LrFn, MetricHook, Node, Steps
from ..specs.base import SpecModel
from ..state import MetricState

if TYPE_CHECKING:
    AnySpec = Any


class PerEpoch(SpecModel):
    """The wrapped spec counts epochs: global step ``k`` is epoch ``k // steps_per_epoch``.

    ``steps_per_epoch`` defaults to the run's option of the same name. A report at a
    step inside an epoch counts for the next epoch boundary, so a decision never
    changes a step already handed out.
    """

    type: Literal["PerEpoch"] = "PerEpoch"
    schedule: AnySpec
    steps_per_epoch: Annotated[int, Field(gt=0)] | None = None

    def children(self) -> list[tuple[tuple[str | int, ...], SpecModel]]:
        return [(("schedule",), self.schedule)]

    def compile(self, ctx: Context) -> Node:
        per = self.steps_per_epoch or ctx.steps_per_epoch
        if per is None:
            raise SpecError(
                "steps_per_epoch missing: give it here or as the run's steps_per_epoch option",
                ctx.loc("steps_per_epoch"),
            )
        inner = self.schedule.build(ctx.child("schedule"))
        momentums = (
            None if inner.momentums is None else tuple(_epochs(f, per) for f in inner.momentums)
        )
        return Node(
            lrs=tuple(_epochs(fn, per) for fn in inner.lrs),
            bases=inner.bases,
            momentums=momentums,
            hooks=tuple(EpochHook(hook, per) for hook in inner.hooks),
        )


def _epochs(fn: LrFn, per: int) -> LrFn:
    def value(steps: Steps, state: MetricState) -> Floats:
        return fn(steps // per, state)

    return value


@dataclass(frozen=True)
class EpochHook:
    """Passes reports on in epochs, rounding the step up to the next epoch boundary."""

    inner: MetricHook
    per: int

    @property
    def key(self) -> str:
        return self.inner.key

    def initial(self) -> Any:
        return self.inner.initial()

    def fold(
        self, record: Any, step: int, metrics: Mapping[str, float], state: MetricState
    ) -> HookOutcome | None:
        return self.inner.fold(record, -(-step // self.per), metrics, state)

    def decision(self, old: Any, new: Any) -> dict[str, Any] | None:
        return self.inner.decision(old, new)
