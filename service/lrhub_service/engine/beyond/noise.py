"""LRNoise: timm's lr noise on any schedule, with torch's CPU generator reproduced."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from ..errors import SpecError
from ..node import Context, Floats, LrFn, Node, RoutedHook, Steps
from ..specs.base import Problem, SpecModel
from ..state import MetricState
from .mt19937 import M, N, Streams, first_words, normal_pairs, rand_scalar

if TYPE_CHECKING:
    AnySpec = Any

MAX_WORDS = 4**7  # a normal draw resamples at most 8191 times (then refused)


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
        if self.noise_type == "normal" and self.pct / self.std < 0.02:
            yield (
                ("pct",),
                "pct / std must be >= 0.02 (a normal draw is resampled until |noise| < pct)",
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
        """timm's draw: ``randn * std`` until below ``pct``. Every pending seed's next draws
        are made together, in rounds of more and more words."""
        found: dict[int, float] = {}
        pending, done, count = list(range(len(seeds))), 0, 4
        while pending:
            if count > MAX_WORDS:
                step = int(steps[pending[0]])
                raise SpecError(f"noise resampled past {MAX_WORDS} words at step {step}", "pct")
            words = _words([seeds[row] for row in pending], count)
            draws = [normal_pairs(words[:, i : i + 4]) for i in range(done, count, 4)]
            still = []
            for j, row in enumerate(pending):
                for value in (v * self.std for pair in draws for v in (pair[0][j], pair[1][j])):
                    if abs(value) < self.pct:
                        found[row] = value
                        break
                else:
                    still.append(row)
            pending, done, count = still, count, count * 4
        return [found[row] for row in range(len(seeds))]


def _words(seeds: list[int], count: int) -> npt.NDArray[np.uint64]:
    """The first ``count`` output words of each seed's generator."""
    if count <= N - M:
        return first_words(seeds, count)
    streams = Streams(seeds)
    streams.need(count)
    return streams.words[:, :count]


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
