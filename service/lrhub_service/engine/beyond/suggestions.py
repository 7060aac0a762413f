"""Learning rates suggested by a range test's curve (pure functions of the stored losses)."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence

SUGGESTION_METHODS = ("steepest", "valley", "min_div10", "minimum")


def smooth_losses(losses: Sequence[float], beta: float = 0.98) -> list[float]:
    """Debiased exponential moving average of ``losses`` (as the range test's fold does)."""
    smoothed, avg = [], 0.0
    for count, loss in enumerate(losses, start=1):
        avg = beta * avg + (1.0 - beta) * loss
        smoothed.append(avg / (1.0 - beta**count))
    return smoothed


def range_test_suggestions(
    lrs: Sequence[float], losses: Sequence[float], beta: float = 0.98
) -> dict[str, float | None]:
    """Suggested lrs from a range test: ``steepest``, ``valley``, ``min_div10``, ``minimum``.

    Points from the first NaN/inf loss on are dropped (the run diverged there), and so
    is the start of the curve, whose smoothed loss is mostly start-up noise: the first
    tenth, or a quarter of the EMA's time constant when that is longer (at most a
    quarter of the curve). A method that finds nothing (e.g. the loss never fell)
    gives None.

    - ``steepest``: where the smoothed loss falls fastest against log(lr), measured as
      the slope across a window of about a twentieth of the curve (so one noisy
      point cannot win), searched up to the minimum of the smoothed loss.
    - ``valley``: the middle of the longest stretch over which the smoothed loss keeps
      falling (its longest strictly decreasing subsequence): a point well inside the
      region of steady descent.
    - ``minimum``: the lr of the lowest smoothed loss; ``min_div10``: a tenth of it.
    """
    if len(lrs) != len(losses):
        raise ValueError(f"lrs and losses differ in length ({len(lrs)} and {len(losses)})")
    if not 0.0 <= beta < 1.0:
        raise ValueError("beta must be in [0, 1)")
    if any(not (math.isfinite(lr) and lr > 0) for lr in lrs):
        raise ValueError("every lr must be a finite number > 0")
    usable = next((i for i, loss in enumerate(losses) if not math.isfinite(loss)), len(losses))
    smoothed = smooth_losses(losses[:usable], beta)
    settle = round(0.25 / (1.0 - beta)) if beta > 0 else 0
    skip = max(len(smoothed) // 10, min(len(smoothed) // 4, settle))
    curve, lr_points = smoothed[skip:], list(lrs[skip:usable])
    result: dict[str, float | None] = dict.fromkeys(SUGGESTION_METHODS)
    if not curve:
        return result
    lowest = min(range(len(curve)), key=curve.__getitem__)
    result["minimum"] = lr_points[lowest]
    result["min_div10"] = lr_points[lowest] / 10.0
    steepest = _steepest(lr_points[: lowest + 1], curve[: lowest + 1])
    result["steepest"] = None if steepest is None else lr_points[steepest]
    valley = _longest_descent(curve)
    if valley is not None:
        first, last = valley
        result["valley"] = lr_points[first + (last - first) // 2]
    return result


def _steepest(lrs: Sequence[float], curve: Sequence[float]) -> int | None:
    """Index of the most negative d(loss)/d(log lr), as a difference across a window."""
    if len(curve) < 2:
        return None
    logs = [math.log(lr) for lr in lrs]
    half = max(1, len(curve) // 40)
    best, best_slope = None, 0.0
    for i in range(len(curve)):
        left, right = max(0, i - half), min(len(curve) - 1, i + half)
        run = logs[right] - logs[left]
        if run <= 0:
            continue
        slope = (curve[right] - curve[left]) / run
        if slope < best_slope:
            best, best_slope = i, slope
    return best


def _longest_descent(curve: Sequence[float]) -> tuple[int, int] | None:
    """First and last index of a longest strictly decreasing subsequence (O(n log n))."""
    tails: list[float] = []  # tails[k]: -(last value) of the best run of length k + 1
    tail_index: list[int] = []
    previous: list[int] = [-1] * len(curve)
    for i, value in enumerate(curve):
        key = -value
        k = bisect_left(tails, key)
        if k == len(tails):
            tails.append(key)
            tail_index.append(i)
        else:
            tails[k], tail_index[k] = key, i
        previous[i] = tail_index[k - 1] if k else -1
    if len(tails) < 2:
        return None
    last = tail_index[-1]
    first = last
    while previous[first] != -1:
        first = previous[first]
    return first, last
