"""The functions an expression may call, as array functions that equal ``math``'s.

Each entry maps a name to ``(apply, least, most)``: ``apply(*arrays)`` returns the values
and, when some element failed, a per-element kind (1: domain error, 2: overflow).
numpy's own versions are used where they equal the C library on finite input (``cos``,
``sqrt``, ``floor``, ``min``...); the others (``exp``, ``log``, ``tan``, ``**``...) call
``math`` element by element, so values equal a scalar evaluation exactly.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from .expression import Floats


def _exact(function: Callable[..., float]) -> Callable[..., tuple[Floats, np.ndarray | None]]:
    """``function`` (from ``math``) mapped over arrays: values, and a per-element error kind
    (0 fine, 1 domain error, 2 overflow) when any element raised."""

    def apply(*args: Floats) -> tuple[Floats, np.ndarray | None]:
        lists = [a.tolist() for a in args]
        try:
            return np.array(list(map(function, *lists)), dtype=np.float64), None
        except (ValueError, ZeroDivisionError, OverflowError):
            pass
        values = np.empty(len(lists[0]), dtype=np.float64)
        kinds = np.zeros(len(lists[0]), dtype=np.int8)
        for i, items in enumerate(zip(*lists, strict=True)):
            try:
                values[i] = function(*items)
            except (ValueError, ZeroDivisionError):
                values[i], kinds[i] = math.nan, 1
            except OverflowError:
                values[i], kinds[i] = math.nan, 2
        return values, kinds

    apply.elementwise = True  # type: ignore[attr-defined]  # a Python call per element
    return apply


def _numpy(function: Callable[..., Floats]) -> Callable[..., tuple[Floats, np.ndarray | None]]:
    """A numpy function known to equal ``math``'s on finite input (cos, floor, min...)."""

    def apply(*args: Floats) -> tuple[Floats, np.ndarray | None]:
        return function(*args), None

    apply.takes_numbers = True  # type: ignore[attr-defined]
    return apply


def _slow(function: Callable[..., Floats]) -> Callable[..., tuple[Floats, np.ndarray | None]]:
    """A numpy function that costs several ns per value (cos, sin): counted as such."""
    apply = _numpy(function)
    apply.slow = True  # type: ignore[attr-defined]
    return apply


pow_exact = _exact(math.pow)  # '**' (used by the binary operator)


def _log(value: float, base: float = math.e) -> float:
    return math.log(value, base)


def _floor(value: Floats) -> Floats:
    return np.floor(value) + 0.0  # + 0.0: float(math.floor(-0.0)) is 0.0, not -0.0


def _ceil(value: Floats) -> Floats:
    return np.ceil(value) + 0.0


def _smallest(*values: Floats) -> Floats:
    """Python's ``min`` (equal values are equal whichever wins; 0.0 and -0.0 compare equal)."""
    return functools.reduce(np.minimum, values)


def _largest(*values: Floats) -> Floats:
    return functools.reduce(np.maximum, values)


def _sqrt(value: Floats) -> tuple[Floats, np.ndarray | None]:
    """``math.sqrt``: correctly rounded in numpy too; a negative operand is a domain error."""
    negative = value < 0.0
    if negative.any():
        return np.sqrt(np.where(negative, 0.0, value)), negative.astype(np.int8)
    return np.sqrt(value), None


UNARY_MATH = ("cos", "sin", "tan", "acos", "asin", "atan", "cosh", "sinh", "tanh", "exp")
UNARY_MATH += ("log2", "log10", "sqrt")
Apply = Callable[..., tuple[Floats, np.ndarray | None]]
# name -> (array function, minimum arguments, maximum arguments or None)
FUNCTIONS: dict[str, tuple[Apply, int, int | None]] = {
    **{name: (_exact(getattr(math, name)), 1, 1) for name in UNARY_MATH},
    "cos": (_slow(np.cos), 1, 1),
    "sin": (_slow(np.sin), 1, 1),
    "atan": (_numpy(np.arctan), 1, 1),
    "min": (_numpy(_smallest), 2, None),
    "max": (_numpy(_largest), 2, None),
    "abs": (_numpy(np.abs), 1, 1),
    "log": (_exact(_log), 1, 2),
    "floor": (_numpy(_floor), 1, 1),
    "ceil": (_numpy(_ceil), 1, 1),
    "sqrt": (_sqrt, 1, 1),
}
