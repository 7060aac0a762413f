"""ReduceLROnPlateau: an explicit state record and a pure fold over reported metrics."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from ..node import Context, Floats, HookOutcome, LrFn, Node, Steps, TransformFn, at_step
from ..state import MetricState, freeze, frozen_record
from .base import NonNegative, PerGroup, SpecModel

Record = Mapping[str, Any]


class ReduceLROnPlateau(SpecModel):
    """Multiply the lr by ``factor`` when the metric stops improving for ``patience`` reports.

    ``metric`` names the reported metric to watch (default: the only one reported, else
    ``"loss"``).
    """

    type: Literal["ReduceLROnPlateau"] = "ReduceLROnPlateau"
    mode: Literal["min", "max"] = "min"
    factor: Annotated[float, Field(ge=0, lt=1)] = 0.1
    patience: Annotated[int, Field(ge=0)] = 10
    threshold: NonNegative = 1e-4
    threshold_mode: Literal["rel", "abs"] = "rel"
    cooldown: Annotated[int, Field(ge=0)] = 0
    min_lr: PerGroup = 0.0
    eps: NonNegative = 1e-8
    metric: Annotated[str, Field(min_length=1, max_length=100)] | None = None

    def compile(self, ctx: Context) -> Node:
        bases = ctx.require_bases()
        min_lrs = ctx.per_group("min_lr", self.min_lr)
        transforms = tuple(_reducer(ctx.key, g, self.factor, min_lrs[g]) for g in range(len(bases)))
        inputs = tuple(_constant(b) for b in bases)
        hook = PlateauHook(ctx.key, self, min_lrs, inputs, transforms)
        lrs = tuple(_applied(t, b) for t, b in zip(transforms, bases, strict=True))
        return Node(lrs=lrs, bases=bases, hooks=(hook,), transforms=transforms)


def _constant(value: float) -> LrFn:
    return lambda steps, state: np.full(steps.shape, value)


def _applied(transform: TransformFn, base: float) -> LrFn:
    return lambda steps, state: transform(np.full(steps.shape, base), steps, state)


def _reducer(key: str, group: int, factor: float, min_lr: float) -> TransformFn:
    """The reductions recorded up to each step applied to an incoming lr (O(log reductions))."""

    def transform(values: Floats, steps: Steps, state: MetricState) -> Floats:
        record = state.nodes.get(key)
        if not record or not record["steps"]:
            return values
        i = np.searchsorted(np.asarray(record["steps"], dtype=np.int64), steps, side="right")
        counts = np.array([0] + [c[group] for c in record["counts"]], dtype=np.int64)[i]
        if not counts.any():
            return values
        reduced = np.maximum(values * np.power(factor, counts.astype(np.float64)), min_lr)
        return np.where(counts == 0, values, reduced)

    return transform


def pick_metric(metrics: Mapping[str, float], name: str | None) -> float | None:
    """The watched metric: ``name``, else the only one reported, else ``"loss"``."""
    if name is not None:
        return metrics.get(name)
    if len(metrics) == 1:
        return next(iter(metrics.values()))
    return metrics.get("loss")


def improves(value: float, best: float | None, rule: Any) -> bool:
    """Whether ``value`` beats ``best`` (None: nothing yet) by ``rule``'s ``threshold``, in
    its ``mode`` and ``threshold_mode`` (torch's comparison; GreedyLR's too)."""
    if best is None:
        best = math.inf if rule.mode == "min" else -math.inf
    if rule.mode == "min" and rule.threshold_mode == "rel":
        return bool(value < best * (1.0 - rule.threshold))
    if rule.mode == "min":
        return bool(value < best - rule.threshold)
    if rule.threshold_mode == "rel":
        return bool(value > best * (rule.threshold + 1.0))
    return bool(value > best + rule.threshold)


@dataclass(frozen=True)
class PlateauHook:
    """Folds one report into the plateau record: best, bad-report count, cooldown, reductions."""

    key: str
    spec: ReduceLROnPlateau
    min_lrs: tuple[float, ...]
    inputs: tuple[LrFn, ...]
    transforms: tuple[TransformFn, ...]

    def with_inputs(self, inputs: tuple[LrFn, ...]) -> PlateauHook:
        """This hook reading its incoming lr from ``inputs`` (used inside a chain)."""
        return replace(self, inputs=inputs)

    def initial(self) -> Record:
        return frozen_record({"best": None, "bad": 0, "cooldown": 0, "steps": (), "counts": ()})

    def _pick(self, metrics: Mapping[str, float]) -> float | None:
        return pick_metric(metrics, self.spec.metric)

    def _is_better(self, value: float, best: float | None) -> bool:
        return math.isfinite(value) and improves(value, best, self.spec)

    def fold(
        self, record: Any, step: int, metrics: Mapping[str, float], state: MetricState
    ) -> HookOutcome | None:
        value = self._pick(metrics)
        if value is None:
            return None
        record = freeze(record or self.initial())  # O(1): records in a state are frozen
        spec = self.spec
        best, bad, cooldown = record["best"], record["bad"], record["cooldown"]
        if self._is_better(float(value), best):
            best, bad = float(value), 0
        else:
            bad += 1
        if cooldown > 0:
            cooldown -= 1
            bad = 0
        steps, counts = record["steps"], record["counts"]  # shared until a reduction
        if bad > spec.patience:
            old_counts = counts[-1] if counts else (0,) * len(self.inputs)
            new_counts = list(old_counts)
            for g, (inp, transform) in enumerate(zip(self.inputs, self.transforms, strict=True)):
                incoming = at_step(inp, step, state)
                at = np.array([step], dtype=np.int64)
                old = float(transform(np.array([incoming]), at, state)[0])
                new = max(incoming * spec.factor ** (old_counts[g] + 1), self.min_lrs[g])
                if old - new > spec.eps:
                    new_counts[g] += 1
            if tuple(new_counts) != old_counts:
                steps = (*steps, step)
                counts = (*counts, tuple(new_counts))
            cooldown, bad = spec.cooldown, 0
        return HookOutcome(
            frozen_record(
                {"best": best, "bad": bad, "cooldown": cooldown, "steps": steps, "counts": counts}
            )
        )

    def decision(self, old: Any, new: Any) -> dict[str, Any] | None:
        before = len(old["steps"]) if old else 0
        if not new or len(new["steps"]) <= before:
            return None
        return {
            "kind": "plateau",
            "factor": self.spec.factor,
            "step": new["steps"][-1],
            "reductions": list(new["counts"][-1]),
        }
