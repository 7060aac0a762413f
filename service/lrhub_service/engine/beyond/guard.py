"""DivergenceGuard: flag NaN/inf or exploding losses, and optionally cut the lr."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import Field

from ..node import Context, Floats, HookOutcome, LrFn, Node, Steps
from ..specs.base import SpecModel
from ..state import MetricState, freeze, frozen_record

if TYPE_CHECKING:
    AnySpec = Any

Record = Mapping[str, Any]


class DivergenceGuard(SpecModel):
    """Watch ``metric``: a NaN/inf value, or one above ``diverge_factor`` x the best so far
    (the best must be > 0), is a divergence.

    With ``lr_factor`` the wrapped schedule's lr is multiplied by it from the report's
    effective step on, at most ``max_reductions`` times, with ``cooldown`` reports after
    each cut during which only NaN/inf counts. A divergence that cannot be answered by a
    cut (no ``lr_factor``, or every reduction used) asks the job to stop.
    """

    type: Literal["DivergenceGuard"] = "DivergenceGuard"
    schedule: AnySpec
    metric: Annotated[str, Field(min_length=1, max_length=100)] = "loss"
    diverge_factor: Annotated[float, Field(gt=1)] = 4.0
    lr_factor: Annotated[float, Field(gt=0, lt=1)] | None = None
    max_reductions: Annotated[int, Field(ge=1, le=1000)] = 3
    cooldown: Annotated[int, Field(ge=0)] = 0

    def children(self) -> list[tuple[tuple[str | int, ...], SpecModel]]:
        return [(("schedule",), self.schedule)]

    def compile(self, ctx: Context) -> Node:
        inner = self.schedule.build(ctx.child("schedule"))
        hook = GuardHook(ctx.key, self)
        lrs = inner.lrs
        if self.lr_factor is not None:
            lrs = tuple(_reduced(fn, ctx.key, self.lr_factor) for fn in inner.lrs)
        return Node(
            lrs=lrs, bases=inner.bases, momentums=inner.momentums, hooks=(*inner.hooks, hook)
        )


def _reduced(fn: LrFn, key: str, factor: float) -> LrFn:
    """``fn`` times ``factor`` per cut recorded at or before the step (O(log cuts))."""

    def lr(steps: Steps, state: MetricState) -> Floats:
        values = fn(steps, state)
        record = state.nodes.get(key)
        if not record or not record["cuts"]:
            return values
        counts = np.searchsorted(np.asarray(record["cuts"], dtype=np.int64), steps, side="right")
        cut = values * np.power(factor, counts.astype(np.float64))
        return np.where(counts > 0, cut, values)

    return lr


@dataclass(frozen=True)
class GuardHook:
    """Folds reports into ``{best, divergences, cuts, cooldown}`` (plain JSON)."""

    key: str
    spec: DivergenceGuard

    def initial(self) -> Record:
        return frozen_record({"best": None, "divergences": 0, "cuts": (), "cooldown": 0})

    def fold(
        self, record: Any, step: int, metrics: Mapping[str, float], state: MetricState
    ) -> HookOutcome | None:
        value = metrics.get(self.spec.metric)
        if value is None:
            return None
        record = freeze(record or self.initial())  # O(1): records in a state are frozen
        loss, best, cooling = float(value), record["best"], record["cooldown"] > 0
        cooldown = max(0, record["cooldown"] - 1)
        exploded = best is not None and best > 0 and loss > self.spec.diverge_factor * best
        if math.isfinite(loss) and not (exploded and not cooling):
            if best is None or loss < best:
                best = loss
            return HookOutcome(frozen_record({**record, "best": best, "cooldown": cooldown}))
        cuts = record["cuts"]  # shared until a cut
        can_cut = self.spec.lr_factor is not None and len(cuts) < self.spec.max_reductions
        if can_cut:
            cuts = (*cuts, step)
            cooldown = self.spec.cooldown
        new = {
            "best": best,
            "divergences": record["divergences"] + 1,
            "cuts": cuts,
            "cooldown": cooldown,
        }
        return HookOutcome(frozen_record(new), stop=not can_cut, diverged=True)

    def decision(self, old: Any, new: Any) -> dict[str, Any] | None:
        before = old["divergences"] if old else 0
        if not new or new["divergences"] <= before:
            return None
        cut = len(new["cuts"]) > (len(old["cuts"]) if old else 0)
        found: dict[str, Any] = {
            "kind": "divergence",
            "best": new["best"],
            "reductions": len(new["cuts"]),
        }
        if cut:
            found["factor"] = self.spec.lr_factor
            found["step"] = new["cuts"][-1]
        else:
            found["stop"] = True
        return found
