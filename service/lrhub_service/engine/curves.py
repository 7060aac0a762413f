"""Closed-form curves: small pure functions of a step array, joined into larger ones.

Every builder returns a ``Curve``: an int64 array of steps in, a float64 array of values
out, O(1) per step whatever the step (optax's schedules are the model). Most are factors
of the base lr (``lr = base * factor(step)``, as torch computes them), so a window
computes one column and scales it per group. The arithmetic follows torch's closed forms
operation by operation, so values agree with torch's to the last few bits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

Steps = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Curve = Callable[[Steps], Floats]
INT64_MAX = 2**63 - 1


def power(base: float, exponents: npt.ArrayLike) -> Floats:
    """``base ** exponent`` per element, inf where it overflows."""
    return np.power(base, np.asarray(exponents, dtype=np.float64))


def constant(value: float) -> Curve:
    return lambda steps: np.full(steps.shape, value)


def step_decay(gamma: float, step_size: int) -> Curve:
    """StepLR's factor: ``gamma ** (step // step_size)``."""
    return lambda steps: power(gamma, steps // step_size)


def multistep_decay(gamma: float, milestones: Sequence[int]) -> Curve:
    """MultiStepLR's factor: one ``gamma`` per milestone passed (repeats count twice)."""
    ordered = np.sort(np.asarray(milestones, dtype=np.int64))
    return lambda steps: power(gamma, np.searchsorted(ordered, steps, side="right"))


def constant_factor(factor: float, total_iters: int) -> Curve:
    """ConstantLR's factor: ``factor`` before ``total_iters``, 1 from then on."""
    return lambda steps: factor + (steps >= total_iters) * (1 - factor)


def linear_factor(start: float, end: float, total_iters: int) -> Curve:
    """LinearLR's factor: from ``start`` to ``end`` linearly over ``total_iters`` steps."""
    if total_iters == 0:
        return constant(end)
    return lambda steps: start + (end - start) * np.minimum(total_iters, steps) / total_iters


def exponential(gamma: float) -> Curve:
    """ExponentialLR's factor: ``gamma ** step``."""
    return lambda steps: power(gamma, steps)


def polynomial(total_iters: int, exponent: float) -> Curve:
    """PolynomialLR's factor: ``(1 - min(step, T) / T) ** power``."""
    return lambda steps: (1.0 - np.minimum(total_iters, steps) / total_iters) ** exponent


def cosine(base: float, t_max: int, eta_min: float, periodic: bool) -> Curve:
    """CosineAnnealingLR: half a cosine from ``base`` to ``eta_min`` over ``t_max`` steps.

    After ``t_max`` it holds ``eta_min``, unless ``periodic`` asks for torch's
    continuation (the cosine rising again).
    """

    def curve(steps: Steps) -> Floats:
        values = eta_min + (base - eta_min) * (1 + np.cos(math.pi * steps / t_max)) / 2
        if periodic:
            return values
        return np.where(steps >= t_max, eta_min, values)

    return curve


def restart_table(t_0: int, t_mult: int) -> tuple[Steps, Floats]:
    """Start step and length of every SGDR cycle that starts below 2**63, exactly.

    torch's ``step(epoch)`` uses a float logarithm, which can land in the wrong cycle at
    a restart boundary; integer starts (and a bisection in them) do not.
    """
    starts, lengths, start, length = [], [], 0, t_0
    while start <= INT64_MAX:
        starts.append(start)
        lengths.append(float(length))
        start, length = start + length, length * t_mult
    return np.array(starts, dtype=np.int64), np.array(lengths)


def cosine_restarts(base: float, t_0: int, t_mult: int, eta_min: float) -> Curve:
    """CosineAnnealingWarmRestarts: cosine cycles of length T_0, T_0*T_mult, ..."""
    table = restart_table(t_0, t_mult) if t_mult > 1 else None

    def curve(steps: Steps) -> Floats:
        if table is None:
            t_cur, t_i = steps % t_0, float(t_0)
        else:
            index = np.searchsorted(table[0], steps, side="right") - 1
            t_cur, t_i = steps - table[0][index], table[1][index]
        return eta_min + (base - eta_min) * (1 + np.cos(math.pi * t_cur / t_i)) / 2

    return curve


def anneal_cos(start: Floats, end: Floats, pct: Floats) -> Floats:
    """One-cycle's cosine annealing from ``start`` to ``end`` at ``pct`` in [0, 1]."""
    cos_out = np.cos(math.pi * pct) + 1
    return end + (start - end) / 2.0 * cos_out


def anneal_linear(start: Floats, end: Floats, pct: Floats) -> Floats:
    """One-cycle's linear annealing from ``start`` to ``end``."""
    return (end - start) * pct + start


def triangle(steps: Steps, total_size: float, step_ratio: float) -> tuple[Floats, Floats]:
    """CyclicLR's position: ``(cycle, scale_factor)``, the factor rising 0 -> 1 -> 0."""
    cycle = np.floor(1 + steps / total_size)
    x = 1.0 + steps / total_size - cycle
    rising = x <= step_ratio
    if rising.all():
        return cycle, x / step_ratio
    return cycle, np.where(rising, x / step_ratio, (x - 1) / (step_ratio - 1))
