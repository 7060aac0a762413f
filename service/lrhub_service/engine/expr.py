"""Safe custom-schedule expressions of one variable (``step``, ``epoch`` or ``x``).

A source such as ``"0.95 ** epoch"`` is parsed with :func:`ast.parse` and walked
against a whitelist into a tree of closures, once; the resulting
:class:`Expression` is then a plain callable ``(x: float) -> float``. Nothing is
ever handed to ``eval``/``exec``/``compile``. All arithmetic is done on floats, so
no operation can build a huge integer; overflow, domain errors and division by
zero become :class:`ExpressionError`, which names the field and the column.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import NoReturn

from .errors import SpecError

MAX_SOURCE_CHARS = 500
MAX_DEPTH = 32
MAX_LITERAL = 1e18
VARIABLES = frozenset({"step", "epoch", "x"})
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
REFUSED_CONSTANTS = {"inf", "nan", "infinity", "NaN", "Inf"}

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


class _EvalFailure(Exception):
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
        except _EvalFailure as failure:
            raise ExpressionError(
                self.loc, f"{failure.msg} when x = {x!r}", failure.position, self.source
            ) from None
        if not math.isfinite(result):
            raise ExpressionError(self.loc, f"result is {result} when x = {x!r}", 1, self.source)
        return result

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


def _checked(op: Callable[[float, float], float], name: str) -> Callable[..., Node]:
    """Wrap a binary float operator so overflow/zero division become _EvalFailure."""

    def make(left: Node, right: Node, position: int) -> Node:
        def node(x: float) -> float:
            try:
                result = op(left(x), right(x))
            except ZeroDivisionError:
                raise _EvalFailure(f"division by zero in '{name}'", position) from None
            except OverflowError:
                raise _EvalFailure(f"'{name}' overflows", position) from None
            except ValueError:
                raise _EvalFailure(f"'{name}' is undefined for these operands", position) from None
            if result - result != 0.0:  # inf or nan, without a function call
                raise _EvalFailure(f"'{name}' overflows", position)
            return result

        return node

    return make


_BINARY: dict[type[ast.operator], Callable[..., Node]] = {
    ast.Add: _checked(operator.add, "+"),
    ast.Sub: _checked(operator.sub, "-"),
    ast.Mult: _checked(operator.mul, "*"),
    ast.Div: _checked(operator.truediv, "/"),
    ast.FloorDiv: _checked(operator.floordiv, "//"),
    ast.Mod: _checked(operator.mod, "%"),
    ast.Pow: _checked(math.pow, "**"),
}
_COMPARE: dict[type[ast.cmpop], Callable[[float, float], bool]] = {
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

_REFUSED_NODES: dict[type[ast.AST], str] = {
    **dict.fromkeys((ast.ListComp, ast.SetComp, ast.DictComp), "comprehensions are not allowed"),
    ast.Attribute: "attribute access is not allowed",
    ast.Subscript: "subscripts are not allowed",
    ast.Lambda: "lambda is not allowed",
    ast.GeneratorExp: "generator expressions are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.NamedExpr: "assignment expressions (:=) are not allowed",
    ast.List: "lists are not allowed",
    ast.Tuple: "tuples are not allowed",
    ast.Set: "sets are not allowed",
    ast.Dict: "dicts are not allowed",
    ast.Starred: "starred arguments are not allowed",
}


class _Compiler:
    """Walks a parsed tree into closures; knows the source for error positions."""

    def __init__(self, source: str, loc: str, lead: int) -> None:
        self.source = source
        self.loc = loc
        self.lead = lead  # characters of leading whitespace stripped before parsing
        self.line_starts = [0]
        for index, char in enumerate(source[lead:]):
            if char == "\n":
                self.line_starts.append(index + 1)
        self.uses_variable = False

    def _offset(self, lineno: int, byte_column: int) -> int:
        """1-based column in the whole source of a (line, UTF-8 byte column) pair."""
        line = self.source[self.lead :].split("\n")[lineno - 1]
        column = len(line.encode()[:byte_column].decode(errors="ignore"))
        return self.lead + self.line_starts[lineno - 1] + column + 1

    def position(self, node: ast.AST) -> int:
        return self._offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]

    def operator_position(self, node: ast.BinOp) -> int:
        """Column of a binary operator: the first symbol after the left operand."""
        index = self._offset(node.left.end_lineno or 1, node.left.end_col_offset or 0) - 1
        while index < len(self.source) and self.source[index] in " \t\r\n)":
            index += 1
        return index + 1

    def fail(self, node: ast.AST, msg: str) -> NoReturn:
        raise ExpressionError(self.loc, msg, self.position(node), self.source)

    def compile(self, node: ast.AST, depth: int = 0) -> tuple[Node, float | None]:
        """Return the node's closure and, when it has no variable, its folded value."""
        if depth > MAX_DEPTH:
            self.fail(node, f"expression nests deeper than {MAX_DEPTH} levels")
        fn = self._compile(node, depth + 1)
        if not self._mentions_variable(node):
            try:
                value = fn(0.0)
            except _EvalFailure as failure:
                raise ExpressionError(
                    self.loc, failure.msg, failure.position, self.source
                ) from None
            return (lambda _x: value), value
        return fn, None

    @staticmethod
    def _mentions_variable(node: ast.AST) -> bool:
        return any(isinstance(n, ast.Name) and n.id in VARIABLES for n in ast.walk(node))

    def _compile(self, node: ast.AST, depth: int) -> Node:
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.UnaryOp):
            operand, _ = self.compile(node.operand, depth)
            if isinstance(node.op, ast.USub):
                return lambda x: -operand(x)
            if isinstance(node.op, ast.UAdd):
                return operand
            if isinstance(node.op, ast.Not):
                return lambda x: 0.0 if operand(x) else 1.0
            self.fail(node, "bitwise '~' is not allowed")
        if isinstance(node, ast.BinOp):
            make = _BINARY.get(type(node.op))
            if make is None:
                raise ExpressionError(
                    self.loc,
                    "bitwise operators are not allowed",
                    self.operator_position(node),
                    self.source,
                )
            left, _ = self.compile(node.left, depth)
            right, _ = self.compile(node.right, depth)
            return make(left, right, self.operator_position(node))
        if isinstance(node, ast.BoolOp):
            return self._boolop(node, depth)
        if isinstance(node, ast.Compare):
            return self._compare(node, depth)
        if isinstance(node, ast.IfExp):
            test, _ = self.compile(node.test, depth)
            body, _ = self.compile(node.body, depth)
            orelse, _ = self.compile(node.orelse, depth)
            return lambda x: body(x) if test(x) else orelse(x)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        self.fail(node, _REFUSED_NODES.get(type(node), f"{type(node).__name__} is not allowed"))

    def _constant(self, node: ast.Constant) -> Node:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = "strings are" if isinstance(value, str | bytes) else f"{value!r} is"
            self.fail(node, f"{kind} not allowed; only numbers")
        if abs(value) > MAX_LITERAL:
            self.fail(node, f"number too large (the limit is {MAX_LITERAL:g})")
        number = float(value)
        return lambda _x: number

    def _name(self, node: ast.Name) -> Node:
        if node.id in VARIABLES:
            self.uses_variable = True
            return lambda x: x
        if node.id in CONSTANTS:
            number = CONSTANTS[node.id]
            return lambda _x: number
        if node.id in REFUSED_CONSTANTS:
            self.fail(node, f"'{node.id}' is not allowed: a schedule must stay finite")
        if node.id in FUNCTIONS:
            self.fail(node, f"'{node.id}' is a function; call it as {node.id}(...)")
        self.fail(node, f"unknown name '{node.id}' (use step, epoch or x)")

    def _boolop(self, node: ast.BoolOp, depth: int) -> Node:
        parts = [self.compile(value, depth)[0] for value in node.values]
        stop_on_true = isinstance(node.op, ast.Or)

        def boolop(x: float) -> float:
            result = 0.0
            for part in parts:
                result = part(x)
                if bool(result) is stop_on_true:
                    return result
            return result

        return boolop

    def _compare(self, node: ast.Compare, depth: int) -> Node:
        first, _ = self.compile(node.left, depth)
        ops = []
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            check = _COMPARE.get(type(op))
            if check is None:
                self.fail(node, "'in' and 'is' are not allowed")
            ops.append((check, self.compile(comparator, depth)[0]))

        def compare(x: float) -> float:
            left = first(x)
            for check, right_fn in ops:
                right = right_fn(x)
                if not check(left, right):
                    return 0.0
                left = right
            return 1.0

        return compare

    def _call(self, node: ast.Call, depth: int) -> Node:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
                self.fail(node, f"attribute access is not allowed; write {node.func.attr}(...)")
            self.fail(node, "only calls of the listed functions are allowed")
        name = node.func.id
        if name not in FUNCTIONS:
            self.fail(node, f"unknown function '{name}'")
        if node.keywords:
            self.fail(node, f"{name}() takes no keyword arguments")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.fail(arg, "starred arguments are not allowed")
        function, least, most = FUNCTIONS[name]
        count = len(node.args)
        if count < least or (most is not None and count > most):
            wanted = (
                f"{least}"
                if least == most
                else f"{least} or more"
                if most is None
                else f"{least} or {most}"
            )
            self.fail(node, f"{name}() takes {wanted} arguments ({count} given)")
        args = [self.compile(arg, depth)[0] for arg in node.args]
        position = self.position(node)

        def call(x: float) -> float:
            try:
                result = float(function(*[arg(x) for arg in args]))
            except (ValueError, ZeroDivisionError):
                raise _EvalFailure(
                    f"{name}() is undefined here (math domain error)", position
                ) from None
            except OverflowError:
                raise _EvalFailure(f"{name}() overflows", position) from None
            return result

        return call


def compile_expression(source: str, *, loc: str) -> Expression:
    """Parse and check ``source`` once; return a fast callable or raise ExpressionError."""
    if not isinstance(source, str):
        raise ExpressionError(loc, "must be an expression string")
    if len(source) > MAX_SOURCE_CHARS:
        raise ExpressionError(
            loc, f"expression is {len(source)} characters long (the limit is {MAX_SOURCE_CHARS})"
        )
    stripped = source.lstrip(" \t")
    if not stripped.strip():
        raise ExpressionError(loc, "expression is empty")
    lead = len(source) - len(stripped)
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as error:
        column = lead + (error.offset or 1)
        if error.lineno and error.lineno > 1:
            column += sum(len(line) + 1 for line in stripped.split("\n")[: error.lineno - 1])
        raise ExpressionError(loc, f"syntax error: {error.msg}", column, source) from None
    except (ValueError, RecursionError, MemoryError):
        raise ExpressionError(loc, "expression cannot be parsed (too deep or invalid)") from None
    compiler = _Compiler(source, loc, lead)
    fn, _ = compiler.compile(tree.body)
    return Expression(source, fn, compiler.uses_variable, loc)
