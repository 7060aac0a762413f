"""LRNoise: timm's lr noise on any schedule, with torch's CPU generator reproduced."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import Field

from ..errors import SpecError
from ..node import Context, Floats, LrFn, Node, RoutedHook, Steps
from ..specs.base import Problem, SpecModel
from ..state import MetricState
from .mt19937 import Streams, normal_sample, rand_scalar

if TYPE_CHECKING:
    AnySpec = Any

MAX_WORDS = 624 * 16  # a normal draw resamples at most 16 x 312 times (then refused)


class LRNoise(SpecModel):
    """``value[k] = v + v * noise(k)`` for ``range_start <= k < range_end`` (timm's noise).

    ``noise(k)`` comes from a generator seeded with ``seed + k``: ``normal`` draws
    ``randn * std`` until its size is below ``pct``; ``uniform`` is ``2 (rand - 0.5) pct``.
    """

    type: Literal["LRNoise"] = "LRNoise"
    schedule: AnySpec
    range_start: Annotated[int, Field(ge=0)]
    range_end: Annotated[int, Field(ge=0)] | None = None
    noise_type: Literal["normal", "uniform"] = "normal"
    pct: Annotated[float, Field(gt=0, le=1e6)] = 0.67
    std: Annotated[float, Field(gt=0, le=1e6)] = 1.0
    seed: Annotated[int, Field(ge=-(2**62), le=2**62)] = 42

    def children(self) -> list[tuple[tuple[str | int, ...], SpecModel]]:
        return [(("schedule",), self.schedule)]

    def problems(self) -> Iterator[Problem]:
        if self.noise_type == "normal" and self.pct / self.std < 0.01:
            yield (
                ("pct",),
                "pct / std must be >= 0.01 (a normal draw is resampled until |noise| < pct)",
            )

    def compile(self, ctx: Context) -> Node:
        inner = self.schedule.build(ctx.child("schedule"))
        memo: dict[bytes, Floats] = {}
        lrs = tuple(_noisy(self, fn, memo) for fn in inner.lrs)
        hooks = tuple(RoutedHook(hook, 0, -1, None) for hook in inner.hooks)
        return Node(lrs=lrs, bases=inner.bases, momentums=inner.momentums, hooks=hooks)

    def noise(self, steps: Steps) -> Floats:
        """The noise at each step (0 outside the range)."""
        end = self.range_end
        inside = (steps >= self.range_start) & (steps < end if end is not None else True)
        out = np.zeros(steps.shape)
        if not inside.any():
            return out
        seeds = [self.seed + int(k) for k in steps[inside].tolist()]
        if self.noise_type == "uniform":
            drawn = [2 * (u - 0.5) * self.pct for u in rand_scalar(seeds)]
        else:
            drawn = self._normal(seeds, steps[inside])
        out[inside] = drawn
        return out

    def _normal(self, seeds: list[int], steps: Steps) -> list[float]:
        streams, found = Streams(seeds), []
        for row in range(len(seeds)):
            index = 0
            while True:
                if 4 * (index // 2 + 1) > streams.words.shape[1]:
                    if streams.words.shape[1] >= MAX_WORDS:
                        raise SpecError(
                            f"noise resampled past {MAX_WORDS} words at step {int(steps[row])}",
                            "pct",
                        )
                    streams.need(streams.words.shape[1] + 624)
                value = normal_sample(streams.words[row], index) * self.std
                if abs(value) < self.pct:
                    found.append(value)
                    break
                index += 1
        return found


def _noisy(spec: LRNoise, fn: LrFn, memo: dict[bytes, Floats]) -> LrFn:
    def lr(steps: Steps, state: MetricState) -> Floats:
        values = fn(steps, state)
        key = steps.tobytes()
        noise = memo.get(key)
        if noise is None:
            noise = spec.noise(steps)
            memo.clear()  # the groups of one call share the last steps' noise
            memo[key] = noise
        return np.where(noise != 0.0, values + values * noise, values)

    return lr
