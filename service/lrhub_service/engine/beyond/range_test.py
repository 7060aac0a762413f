"""LRRangeTest: the learning-rate finder's ramp, and a fold that decides when to stop."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from ..curves import Curve
from ..node import Context, HookOutcome, Node
from ..specs.base import PerGroup, Problem, SpecModel, lift
from ..state import MetricState, frozen_record

Record = Mapping[str, Any]
MetricName = Annotated[str, Field(min_length=1, max_length=100)]


class LRRangeTest(SpecModel):
    """Ramp from ``start_lr`` to ``end_lr`` over ``num_steps`` (``value[num_steps-1] = end_lr``).

    Each reported ``metric`` is smoothed (debiased exponential moving average with
    ``smoothing``); the test stops when the smoothed loss exceeds ``diverge_factor``
    times the best smoothed loss, on a NaN/inf loss, or after ``num_steps`` reports.
    """

    type: Literal["LRRangeTest"] = "LRRangeTest"
    start_lr: PerGroup = 1e-7
    end_lr: PerGroup = 10.0
    num_steps: Annotated[int, Field(ge=2, le=100_000)] = 100
    mode: Literal["exponential", "linear"] = "exponential"
    smoothing: Annotated[float, Field(ge=0, lt=1)] = 0.98
    diverge_factor: Annotated[float, Field(gt=1)] = 4.0
    metric: MetricName = "loss"

    def needs_base(self) -> bool:
        return False

    def problems(self) -> Iterator[Problem]:
        if self.mode == "exponential" and any(s <= 0 for s in _listed(self.start_lr)):
            yield (("start_lr",), "an exponential ramp needs start_lr > 0")
        starts, ends = _listed(self.start_lr), _listed(self.end_lr)
        count = max(len(starts), len(ends))
        if {len(starts), len(ends)} <= {1, count}:
            pairs = [(starts[i % len(starts)], ends[i % len(ends)]) for i in range(count)]
            if any(end <= start for start, end in pairs):
                yield (("end_lr",), "must be greater than start_lr")

    def compile(self, ctx: Context) -> Node:
        starts = ctx.per_group("start_lr", self.start_lr)
        ends = ctx.per_group("end_lr", self.end_lr)
        lrs = tuple(lift(self.ramp(s, e)) for s, e in zip(starts, ends, strict=True))
        return Node(lrs=lrs, bases=starts, hooks=(RangeTestHook(ctx.key, self),))

    def ramp(self, start: float, end: float) -> Curve:
        """The ramp of one group: step -> lr, holding ``end`` after ``num_steps - 1``."""
        last = self.num_steps - 1
        if self.mode == "linear":
            return lambda steps: start + (end - start) * (np.minimum(steps, last) / last)
        ratio = end / start
        return lambda steps: start * ratio ** (np.minimum(steps, last) / last)


def _listed(value: float | list[float]) -> list[float]:
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class RangeTestHook:
    """Folds losses into ``{count, avg, smoothed, best, best_step, stop}`` (plain JSON)."""

    key: str
    spec: LRRangeTest

    def initial(self) -> Record:
        return frozen_record(
            {
                "count": 0,
                "avg": 0.0,
                "smoothed": None,
                "best": None,
                "best_step": None,
                "stop": None,
            }
        )

    def fold(
        self, record: Any, step: int, metrics: Mapping[str, float], state: MetricState
    ) -> HookOutcome | None:
        value = metrics.get(self.spec.metric)
        record = record or self.initial()
        if value is None or record["stop"] is not None:
            return None
        loss = float(value)
        if not math.isfinite(loss):
            return HookOutcome(frozen_record({**record, "stop": "diverged"}), stop=True)
        count = record["count"] + 1
        beta = self.spec.smoothing
        avg = beta * record["avg"] + (1.0 - beta) * loss
        smoothed = avg / (1.0 - beta**count)
        best, best_step = record["best"], record["best_step"]
        if best is None or smoothed < best:
            best, best_step = smoothed, step
        stop = None
        if best > 0 and smoothed > self.spec.diverge_factor * best:
            stop = "diverged"
        elif step >= self.spec.num_steps:
            stop = "completed"
        new = {
            "count": count,
            "avg": avg,
            "smoothed": smoothed,
            "best": best,
            "best_step": best_step,
            "stop": stop,
        }
        return HookOutcome(frozen_record(new), stop=stop is not None)

    def decision(self, old: Any, new: Any) -> dict[str, Any] | None:
        if not new or new["stop"] is None or (old and old["stop"] is not None):
            return None
        return {
            "kind": "stop",
            "reason": new["stop"],
            "best_loss": new["best"],
            "best_step": new["best_step"],
        }
