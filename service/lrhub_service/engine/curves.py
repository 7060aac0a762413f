"""Closed-form curves: small pure functions of the step, joined into larger ones.

Every builder returns a ``Curve`` (``step -> value``) that costs O(1) whatever the
step. Most are factors of the base lr (``lr = base * factor(step)``, as torch computes
them), so a window computes one column and scales it per group. The arithmetic
follows torch's closed forms operation by operation, so values agree with torch's to
the last few bits.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence

Curve = Callable[[int], float]


def power(base: float, exponent: float) -> float:
    """``base ** exponent``, giving inf instead of raising OverflowError."""
    if base > 1.0 and exponent > 64 and exponent * math.log(base) > 709.0:
        return math.inf
    try:
        return base**exponent
    except OverflowError:
        return math.inf


def constant(value: float) -> Curve:
    return lambda step: value


def step_decay(gamma: float, step_size: int) -> Curve:
    """StepLR's factor: ``gamma ** (step // step_size)``."""
    return lambda step: power(gamma, step // step_size)


def multistep_decay(gamma: float, milestones: Sequence[int]) -> Curve:
    """MultiStepLR's factor: one ``gamma`` per milestone passed (repeats count twice)."""
    ordered = sorted(milestones)
    return lambda step: power(gamma, bisect_right(ordered, step))


def constant_factor(factor: float, total_iters: int) -> Curve:
    """ConstantLR's factor: ``factor`` before ``total_iters``, 1 from then on."""
    return lambda step: factor + (step >= total_iters) * (1 - factor)


def linear_factor(start: float, end: float, total_iters: int) -> Curve:
    """LinearLR's factor: from ``start`` to ``end`` linearly over ``total_iters`` steps."""
    if total_iters == 0:
        return constant(end)
    return lambda step: start + (end - start) * min(total_iters, step) / total_iters


def exponential(gamma: float) -> Curve:
    """ExponentialLR's factor: ``gamma ** step``."""
    return lambda step: power(gamma, step)


def polynomial(total_iters: int, exponent: float) -> Curve:
    """PolynomialLR's factor: ``(1 - min(step, T) / T) ** power``."""
    return lambda step: (1.0 - min(total_iters, step) / total_iters) ** exponent


def cosine(base: float, t_max: int, eta_min: float, periodic: bool) -> Curve:
    """CosineAnnealingLR: half a cosine from ``base`` to ``eta_min`` over ``t_max`` steps.

    After ``t_max`` it holds ``eta_min``, unless ``periodic`` asks for torch's
    continuation (the cosine rising again).
    """

    def curve(step: int) -> float:
        if step >= t_max and not periodic:
            return eta_min
        return eta_min + (base - eta_min) * (1 + math.cos(math.pi * step / t_max)) / 2

    return curve


def restart_position(step: int, t_0: int, t_mult: int) -> tuple[int, int]:
    """``(T_cur, T_i)`` of SGDR at ``step``, in exact integer arithmetic.

    torch's ``step(epoch)`` uses a float logarithm, which can land in the wrong cycle at
    a restart boundary; the per-step recursion (and this function) does not.
    """
    if t_mult == 1:
        return step % t_0, t_0
    # cycle n starts at t_0 * (t_mult**n - 1) / (t_mult - 1): guess n with a float log,
    # then correct it exactly with integers
    n = int(math.log(step * (t_mult - 1) / t_0 + 1, t_mult))
    while n > 0 and t_0 * (t_mult**n - 1) // (t_mult - 1) > step:
        n -= 1
    while t_0 * (t_mult ** (n + 1) - 1) // (t_mult - 1) <= step:
        n += 1
    return step - t_0 * (t_mult**n - 1) // (t_mult - 1), t_0 * t_mult**n


def cosine_restarts(base: float, t_0: int, t_mult: int, eta_min: float) -> Curve:
    """CosineAnnealingWarmRestarts: cosine cycles of length T_0, T_0*T_mult, ..."""

    def curve(step: int) -> float:
        t_cur, t_i = restart_position(step, t_0, t_mult)
        return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2

    return curve


def anneal_cos(start: float, end: float, pct: float) -> float:
    """One-cycle's cosine annealing from ``start`` to ``end`` at ``pct`` in [0, 1]."""
    cos_out = math.cos(math.pi * pct) + 1
    return end + (start - end) / 2.0 * cos_out


def anneal_linear(start: float, end: float, pct: float) -> float:
    """One-cycle's linear annealing from ``start`` to ``end``."""
    return (end - start) * pct + start


def triangle(step: int, total_size: float, step_ratio: float) -> tuple[int, float]:
    """CyclicLR's position: ``(cycle, scale_factor)``, the factor rising 0 -> 1 -> 0."""
    cycle = math.floor(1 + step / total_size)
    x = 1.0 + step / total_size - cycle
    if x <= step_ratio:
        return cycle, x / step_ratio
    return cycle, (x - 1) / (step_ratio - 1)
