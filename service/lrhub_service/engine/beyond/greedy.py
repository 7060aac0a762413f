"""GreedyLR: a metric-driven lr that rises while the metric keeps improving and falls on a
plateau (transformers' GreedyLR), as an explicit record folded over reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from ..node import Context, Floats, HookOutcome, LrFn, Node, Steps
from ..specs.base import NonNegative, PerGroup, SpecModel
from ..specs.plateau import improves, pick_metric
from ..state import MetricState, freeze, frozen_record

Count = Annotated[int, Field(ge=0)]


class GreedyLR(SpecModel):
    """Divide the lr by ``factor`` (up to ``max_lr``) after more than ``patience`` improving
    reports, multiply it by ``factor`` (down to ``min_lr``) after more than ``patience``
    others; ``reset_start`` reductions at the floor restore the base lrs and start over."""

    type: Literal["GreedyLR"] = "GreedyLR"
    mode: Literal["min", "max"] = "min"
    factor: Annotated[float, Field(gt=0, lt=1)] = 0.95
    patience: Count = 10
    threshold: NonNegative = 1e-6
    threshold_mode: Literal["rel", "abs"] = "abs"
    cooldown: Count = 0
    warmup: Count = 0
    min_lr: PerGroup = 1e-3
    max_lr: PerGroup = 1.0
    eps: NonNegative = 1e-8
    smooth: bool = False
    window_size: Annotated[int, Field(ge=1, le=10_000)] = 50
    reset_start: Count = 500
    metric: Annotated[str, Field(min_length=1, max_length=100)] | None = None

    def compile(self, ctx: Context) -> Node:
        bases = ctx.require_bases()
        hook = GreedyHook(
            ctx.key,
            self,
            bases,
            ctx.per_group("min_lr", self.min_lr),
            ctx.per_group("max_lr", self.max_lr),
        )
        return Node(
            lrs=tuple(_value(ctx.key, g, b) for g, b in enumerate(bases)),
            bases=bases,
            hooks=(hook,),
        )


def _value(key: str, group: int, base: float) -> LrFn:
    """The lr recorded at the last change at or before each step (the base before any)."""

    memo: list[Any] = [None, None, None]  # the last record read, its steps and this column

    def lr(steps: Steps, state: MetricState) -> Floats:
        record = state.nodes.get(key)
        if not record or not record["steps"]:
            return np.full(steps.shape, base)
        if memo[0] is not record:  # a record is immutable: build its arrays once
            column = np.array([base] + [lrs[group] for lrs in record["values"]])
            memo[:] = [record, np.asarray(record["steps"], dtype=np.int64), column]
        return memo[2][np.searchsorted(memo[1], steps, side="right")]

    return lr


@dataclass(frozen=True)
class GreedyHook:
    """One report: the smoothed metric, the counters, and any change of the lrs."""

    key: str
    spec: GreedyLR
    bases: tuple[float, ...]
    min_lrs: tuple[float, ...]
    max_lrs: tuple[float, ...]

    def initial(self) -> Mapping[str, Any]:
        return freeze(
            {
                "lrs": self.bases,
                "best": None,
                "bad": 0,
                "good": 0,
                "cooldown": 0,
                "warm": 0,
                "reset_left": self.spec.reset_start,
                "window": (),
                "sum": 0.0,
                "steps": (),
                "values": (),
            }
        )

    def fold(
        self, record: Any, step: int, metrics: Mapping[str, float], state: MetricState
    ) -> HookOutcome | None:
        value = pick_metric(metrics, self.spec.metric)
        if value is None:
            return None
        r = dict(freeze(record or self.initial()))
        current = float(value)
        if self.spec.smooth:
            window, total = (*r["window"], current), r["sum"] + current
            if len(window) > self.spec.window_size:
                total -= window[0]
                window = window[1:]
            r["window"], r["sum"] = window, total
            current = total / len(window)
        lrs = list(r["lrs"])
        if r["cooldown"] > 0:
            r.update(cooldown=r["cooldown"] - 1, bad=0, good=0)
        elif r["warm"] > 0:
            r.update(warm=r["warm"] - 1, bad=0, good=0)
        else:
            if improves(current, r["best"], self.spec):
                r.update(best=current, bad=0, good=r["good"] + 1)
            else:
                r.update(bad=r["bad"] + 1, good=0)
            if r["good"] > self.spec.patience:
                lrs = self._increase(lrs)
                r.update(warm=self.spec.warmup, good=0, reset_left=self.spec.reset_start)
            elif r["bad"] > self.spec.patience:
                lrs, at_min = self._reduce(lrs)
                r.update(cooldown=self.spec.cooldown, bad=0)
                if at_min:
                    r["reset_left"] -= 1
                    if r["reset_left"] <= 0:
                        lrs = list(self.bases)
                        r.update(
                            best=None,
                            bad=0,
                            good=0,
                            cooldown=0,
                            warm=0,
                            reset_left=self.spec.reset_start,
                            window=(),
                            sum=0.0,
                        )
        if tuple(lrs) != tuple(r["lrs"]):
            r.update(lrs=tuple(lrs), steps=(*r["steps"], step), values=(*r["values"], tuple(lrs)))
        return HookOutcome(frozen_record(r))

    def _increase(self, lrs: list[float]) -> list[float]:
        out = []
        for old, top in zip(lrs, self.max_lrs, strict=True):
            new = min(old / self.spec.factor, top)
            out.append(new if new - old > self.spec.eps else old)
        return out

    def _reduce(self, lrs: list[float]) -> tuple[list[float], bool]:
        out, at_min = [], True
        for old, floor in zip(lrs, self.min_lrs, strict=True):
            new = max(old * self.spec.factor, floor)
            kept = new if old - new > self.spec.eps else old
            out.append(kept)
            at_min = at_min and not kept > floor
        return out, at_min

    def decision(self, old: Any, new: Any) -> dict[str, Any] | None:
        before = len(old["steps"]) if old else 0
        if not new or len(new["steps"]) <= before:
            return None
        return {"kind": "greedy", "step": new["steps"][-1], "lrs": list(new["values"][-1])}
