"""The evaluation side of an expression: the allowed operators and functions, and the
closures each syntax node becomes. Failures raise :class:`EvalFailure` with a column."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Sequence

from .expression import EvalFailure, Node


def _checked(op: Callable[[float, float], float], name: str) -> Callable[..., Node]:
    """Wrap a binary float operator so overflow/zero division become EvalFailure."""

    def make(left: Node, right: Node, position: int) -> Node:
        def node(x: float) -> float:
            try:
                result = op(left(x), right(x))
            except ZeroDivisionError:
                raise EvalFailure(f"division by zero in '{name}'", position) from None
            except OverflowError:
                raise EvalFailure(f"'{name}' overflows", position) from None
            except ValueError:
                raise EvalFailure(f"'{name}' is undefined for these operands", position) from None
            if result - result != 0.0:  # inf or nan, without a function call
                raise EvalFailure(f"'{name}' overflows", position)
            return result

        return node

    return make


BINARY: dict[type[ast.operator], Callable[..., Node]] = {
    ast.Add: _checked(operator.add, "+"),
    ast.Sub: _checked(operator.sub, "-"),
    ast.Mult: _checked(operator.mul, "*"),
    ast.Div: _checked(operator.truediv, "/"),
    ast.FloorDiv: _checked(operator.floordiv, "//"),
    ast.Mod: _checked(operator.mod, "%"),
    ast.Pow: _checked(math.pow, "**"),
}
COMPARE: dict[type[ast.cmpop], Callable[[float, float], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


def _log(value: float, base: float = math.e) -> float:
    return math.log(value, base)


UNARY_MATH = ("cos", "sin", "tan", "acos", "asin", "atan", "cosh", "sinh", "tanh", "exp")
UNARY_MATH += ("log2", "log10", "sqrt")
# name -> (function, minimum arguments, maximum arguments or None)
FUNCTIONS: dict[str, tuple[Callable[..., float], int, int | None]] = {
    **{name: (getattr(math, name), 1, 1) for name in UNARY_MATH},
    "min": (min, 2, None),
    "max": (max, 2, None),
    "abs": (abs, 1, 1),
    "log": (_log, 1, 2),
    "floor": (lambda v: float(math.floor(v)), 1, 1),
    "ceil": (lambda v: float(math.ceil(v)), 1, 1),
}


def constant(number: float) -> Node:
    return lambda _x: number


def variable() -> Node:
    return lambda x: x


def negate(operand: Node) -> Node:
    return lambda x: -operand(x)


def logical_not(operand: Node) -> Node:
    return lambda x: 0.0 if operand(x) else 1.0


def if_else(test: Node, body: Node, orelse: Node) -> Node:
    return lambda x: body(x) if test(x) else orelse(x)


def bool_chain(parts: Sequence[Node], stop_on_true: bool) -> Node:
    """``a or b`` (``stop_on_true``) / ``a and b``: the first deciding value, as Python."""

    def boolop(x: float) -> float:
        result = 0.0
        for part in parts:
            result = part(x)
            if bool(result) is stop_on_true:
                return result
        return result

    return boolop


def compare_chain(first: Node, ops: Sequence[tuple[Callable[[float, float], bool], Node]]) -> Node:
    """``a < b <= c``: 1.0 when every comparison holds, else 0.0."""

    def compare(x: float) -> float:
        left = first(x)
        for check, right_fn in ops:
            right = right_fn(x)
            if not check(left, right):
                return 0.0
            left = right
        return 1.0

    return compare


def function_call(
    name: str, function: Callable[..., float], args: Sequence[Node], position: int
) -> Node:
    """``name(args...)``, with domain errors and overflow as EvalFailure."""

    def call(x: float) -> float:
        try:
            result = float(function(*[arg(x) for arg in args]))
        except (ValueError, ZeroDivisionError):
            raise EvalFailure(f"{name}() is undefined here (math domain error)", position) from None
        except OverflowError:
            raise EvalFailure(f"{name}() overflows", position) from None
        return result

    return call
