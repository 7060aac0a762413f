"""What a compiled expression is at run time: the callable and its two errors."""

from __future__ import annotations

import math
from collections.abc import Callable

from ..errors import SpecError

Node = Callable[[float], float]


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
    """Raised inside evaluation; turned into ExpressionError with the variable's value."""

    def __init__(self, msg: str, position: int) -> None:
        super().__init__(msg)
        self.msg = msg
        self.position = position


class Expression:
    """A compiled expression: call it with the variable's value to get a float."""

    __slots__ = ("_fn", "loc", "source", "uses_variable")

    def __init__(self, source: str, fn: Node, uses_variable: bool, loc: str) -> None:
        self.source = source
        self.uses_variable = uses_variable
        self.loc = loc
        self._fn = fn

    def __call__(self, x: float) -> float:
        try:
            result = self._fn(float(x))
        except OverflowError:
            raise ExpressionError(self.loc, f"x = {x!r} is too large", None, self.source) from None
        except EvalFailure as failure:
            raise ExpressionError(
                self.loc, f"{failure.msg} when x = {x!r}", failure.position, self.source
            ) from None
        if not math.isfinite(result):
            raise ExpressionError(self.loc, f"result is {result} when x = {x!r}", 1, self.source)
        return result

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"
