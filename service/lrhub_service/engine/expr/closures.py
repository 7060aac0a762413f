"""The evaluation side of an expression: the allowed operators and functions, and the
array closures each syntax node becomes.

Every closure takes ``(x, where, failures)``: the variable's values, their positions in
the call, and the failure log. Branches (``if``/``else``, ``and``/``or``, chained
comparisons) evaluate each side only on the elements that reach it, as Python does, so
a division by zero in a branch not taken fails nothing. Arithmetic is numpy's IEEE
float64, which equals Python's float arithmetic bit for bit; functions whose numpy
version may differ from the C library by an ulp (``exp``, ``log``, ``**``, ...) call
``math`` element by element, so values equal the scalar evaluation exactly.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Sequence

import numpy as np

from .expression import Escalate, Failures, Floats, Index, Node
from .functions import FUNCTIONS, UNARY_MATH, Apply, pow_exact

__all__ = ["BINARY", "COMPARE", "FUNCTIONS", "UNARY_MATH"]

Arith = Callable[[Floats, Floats], Floats]


def _binary(name: str, op: Arith | None, divides: bool) -> Callable[..., Node]:
    """A binary float operator; zero divisors, domain errors and overflow are failures."""

    def make(left: Node, right: Node, position: int) -> Node:
        left_value, right_value = _folded(left), _folded(right)

        def node(x: Floats, where: Index, failures: Failures | None) -> Floats:
            if failures is None and op is not None:  # the fast pass: numpy raises on failure
                a = left_value if left_value is not None else left(x, where, None)
                b = right_value if right_value is not None else right(x, where, None)
                return op(a, b)
            a = left(x, where, failures)
            b = right(x, where, failures)
            if op is None:  # '**': the C library's pow, element by element
                result, kinds = pow_exact(a, b)
                if kinds is not None:
                    if failures is None:
                        raise Escalate
                    failures.record(
                        where, kinds == 1, f"'{name}' is undefined for these operands", position
                    )
                    failures.record(where, kinds == 2, f"'{name}' overflows", position)
                return result
            if divides and not b.all():
                failures.record(where, b == 0.0, f"division by zero in '{name}'", position)
            result = op(a, b)
            finite = np.isfinite(result)
            if not finite.all():
                failures.record(where, ~finite, f"'{name}' overflows", position)
            return result

        return node

    return make


BINARY: dict[type[ast.operator], Callable[..., Node]] = {
    ast.Add: _binary("+", np.add, False),
    ast.Sub: _binary("-", np.subtract, False),
    ast.Mult: _binary("*", np.multiply, False),
    ast.Div: _binary("/", np.true_divide, True),
    ast.FloorDiv: _binary("//", np.floor_divide, True),
    ast.Mod: _binary("%", np.remainder, True),
    ast.Pow: _binary("**", None, False),
}
COMPARE: dict[type[ast.cmpop], Callable[[Floats, Floats], np.ndarray]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


class Constant:
    """A folded constant: an array of ``value``; binary operators use ``value`` itself."""

    __slots__ = ("value",)

    def __init__(self, value: float) -> None:
        self.value = value

    def __call__(self, x: Floats, where: Index | None, failures: Failures | None) -> Floats:
        return np.full(x.shape, self.value)


def _folded(node: Node) -> float | None:
    return node.value if isinstance(node, Constant) else None


def constant(number: float) -> Node:
    return Constant(number)


def variable() -> Node:
    return lambda x, where, failures: x


def negate(operand: Node) -> Node:
    return lambda x, where, failures: -operand(x, where, failures)


def logical_not(operand: Node) -> Node:
    return lambda x, where, failures: np.where(operand(x, where, failures) != 0.0, 0.0, 1.0)


def _subset(
    node: Node, x: Floats, where: Index | None, failures: Failures | None, take: np.ndarray
) -> Floats:
    """``node`` evaluated only where ``take`` holds (the branch Python would evaluate)."""
    return node(x[take], None if where is None else where[take], failures)


def if_else(test: Node, body: Node, orelse: Node) -> Node:
    def branch(x: Floats, where: Index | None, failures: Failures | None) -> Floats:
        chosen = test(x, where, failures) != 0.0
        result = np.empty(x.shape)
        if chosen.any():
            result[chosen] = _subset(body, x, where, failures, chosen)
        if not chosen.all():
            result[~chosen] = _subset(orelse, x, where, failures, ~chosen)
        return result

    return branch


def bool_chain(parts: Sequence[Node], stop_on_true: bool) -> Node:
    """``a or b`` (``stop_on_true``) / ``a and b``: the first deciding value, as Python."""

    def boolop(x: Floats, where: Index | None, failures: Failures | None) -> Floats:
        result = np.zeros(x.shape)
        open_ = np.ones(x.shape, dtype=bool)  # elements not decided yet
        for part in parts:
            if not open_.any():
                break
            values = _subset(part, x, where, failures, open_)
            result[open_] = values
            decided = np.zeros(x.shape, dtype=bool)
            decided[open_] = (values != 0.0) == stop_on_true
            open_ &= ~decided
        return result

    return boolop


def compare_chain(first: Node, ops: Sequence[tuple[Callable[..., np.ndarray], Node]]) -> Node:
    """``a < b <= c``: 1.0 when every comparison holds, else 0.0 (later operands are
    evaluated only where the earlier comparisons held)."""

    def compare(x: Floats, where: Index | None, failures: Failures | None) -> Floats:
        left = first(x, where, failures)
        holds = np.ones(x.shape, dtype=bool)
        for check, right_fn in ops:
            if not holds.any():
                break
            right = _subset(right_fn, x, where, failures, holds)
            passed = check(left[holds], right)
            next_left = np.array(left, dtype=np.float64)
            next_left[holds] = right
            holds[holds] = passed
            left = next_left
        return holds.astype(np.float64)

    return compare


def function_call(name: str, function: Apply, args: Sequence[Node], position: int) -> Node:
    """``name(args...)``, with domain errors and overflow as failures."""

    plain = getattr(function, "takes_numbers", False)  # numpy functions: constants stay numbers
    folded = [_folded(arg) if plain else None for arg in args]

    def call(x: Floats, where: Index, failures: Failures | None) -> Floats:
        values = [
            arg(x, where, failures) if value is None or failures is not None else value
            for arg, value in zip(args, folded, strict=True)
        ]
        result, kinds = function(*values)
        if kinds is not None:
            if failures is None:
                raise Escalate
            failures.record(
                where, kinds == 1, f"{name}() is undefined here (math domain error)", position
            )
            failures.record(where, kinds == 2, f"{name}() overflows", position)
        return result

    return call
