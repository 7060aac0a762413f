"""What a compiled expression is at run time: an array function and its two errors.

An expression node maps a float64 array of the variable's values to a float64 array of
results. A value that cannot be computed (division by zero, a domain error, overflow) is
written down in a :class:`Failures` log against its position, so one bad element never
stops the others; the first failure of an element, in Python's evaluation order, is the
one that counts, exactly as a scalar evaluation would have raised it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import SpecError

Floats = npt.NDArray[np.float64]
Index = npt.NDArray[np.intp]
Node = Callable[[Floats, "Index | None", "Failures | None"], Floats]
"""``(x, where, failures) -> values``: ``where[i]`` is the position of ``x[i]`` in the call.

The fast pass gives ``None`` for both and lets any failure raise; the careful pass
records each element's first failure instead."""


class ExpressionError(SpecError):
    """A refused or failing expression: ``.loc`` (field path), ``.msg``, ``.position``.

    A :class:`SpecError` (so a ValueError) with one entry, ``{"loc", "msg": reason}``,
    so an expression failing during evaluation reaches clients as a 4xx naming the field.
    """

    def __init__(self, loc: str, msg: str, position: int | None = None, source: str = "") -> None:
        self.loc = loc
        self.msg = msg
        self.position = position
        self.source = source
        super().__init__([{"loc": loc, "msg": self.reason}])

    @property
    def reason(self) -> str:
        """The message with its column, without the field path."""
        return self.msg if self.position is None else f"{self.msg} at column {self.position}"

    @property
    def caret(self) -> str:
        """Two lines: (a window of) the source, and a caret under the faulty column."""
        if self.position is None or not self.source:
            return ""
        text = self.source.replace("\n", " ").replace("\t", " ").replace("\r", " ")
        start = max(0, min(self.position - 40, len(text) - 78))
        shown = text[start : start + 78]
        prefix = "..." if start else ""
        suffix = "..." if start + 78 < len(text) else ""
        return f"{prefix}{shown}{suffix}\n{' ' * (len(prefix) + self.position - 1 - start)}^"

    def __str__(self) -> str:
        return f"{self.loc}: {self.reason}" if self.loc else self.reason


class EvalFailure(Exception):
    """A failure of one element: its message and the column of the failing operation."""

    def __init__(self, msg: str, position: int) -> None:
        super().__init__(msg)
        self.msg = msg
        self.position = position


class Escalate(Exception):
    """Raised in the fast pass when some element fails: evaluate again, carefully."""


FAST_ERRORS = (Escalate, FloatingPointError, ArithmeticError, ValueError)


class Failures:
    """The first failure of each element of one evaluation (``-1``: none yet)."""

    __slots__ = ("codes", "found")

    def __init__(self, size: int) -> None:
        self.codes = np.full(size, -1, dtype=np.int32)
        self.found: list[EvalFailure] = []

    def record(self, where: Index, bad: npt.NDArray[np.bool_], msg: str, position: int) -> None:
        """Elements ``where[bad]`` fail with ``msg`` unless they failed earlier."""
        hit = where[bad]
        hit = hit[self.codes[hit] < 0]
        if hit.size:
            self.codes[hit] = len(self.found)
            self.found.append(EvalFailure(msg, position))

    def first(self) -> tuple[int, EvalFailure] | None:
        """The lowest failing position and its failure, or None when every element is fine."""
        bad = np.flatnonzero(self.codes >= 0)
        if not bad.size:
            return None
        index = int(bad[0])
        return index, self.found[int(self.codes[index])]


def describe(x: float) -> str:
    """The variable's value as a message shows it (whole numbers without ``.0``)."""
    if x.is_integer() and abs(x) < 2.0**53:
        return repr(int(x))
    return repr(x)


class Expression:
    """A compiled expression: ``evaluate`` takes an array, calling it takes one number."""

    __slots__ = ("_fn", "elementwise", "loc", "operations", "slow", "source", "uses_variable")

    def __init__(
        self,
        source: str,
        fn: Node,
        uses_variable: bool,
        operations: int,
        elementwise: int,
        slow: int,
        loc: str,
    ) -> None:
        self.source = source
        self.uses_variable = uses_variable
        self.loc = loc
        self.operations = operations  # array operations per evaluation (the cost model's unit)
        self.elementwise = elementwise  # of which call the C library per element (dearer)
        self.slow = slow  # of which are dear numpy operations (cos, sin, %, //)
        self._fn = fn

    def attempt(self, xs: npt.ArrayLike) -> tuple[Floats, tuple[int, ExpressionError] | None]:
        """Values at every ``xs``, and the first failing position with its error (or None)."""
        x = np.asarray(xs, dtype=np.float64)
        try:  # the fast pass: no bookkeeping; numpy raises on overflow, 0-division, NaN
            with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
                return self._fn(x, None, None), None
        except FAST_ERRORS:
            pass
        failures = Failures(x.size)
        with np.errstate(all="ignore"):
            values = self._fn(x, np.arange(x.size), failures)
            failures.record(np.arange(x.size), ~np.isfinite(values), "result is not finite", 1)
        first = failures.first()
        if first is None:
            return values, None
        index, failure = first
        at = describe(float(x[index]))
        if failure.msg == "result is not finite":
            error = ExpressionError(
                self.loc, f"result is {values[index]} when x = {at}", 1, self.source
            )
        else:
            error = ExpressionError(
                self.loc, f"{failure.msg} when x = {at}", failure.position, self.source
            )
        return values, (index, error)

    def evaluate(self, xs: npt.ArrayLike) -> Floats:
        """Values at every ``xs``; ExpressionError names the first element that fails."""
        values, failed = self.attempt(xs)
        if failed is not None:
            raise failed[1]
        return values

    def __call__(self, x: Any) -> float:
        try:
            value = float(x)
        except OverflowError:
            raise ExpressionError(self.loc, f"x = {x!r} is too large", None, self.source) from None
        values, failed = self.attempt(np.array([value]))
        if failed is not None:
            raise failed[1]
        return float(values[0])

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"
