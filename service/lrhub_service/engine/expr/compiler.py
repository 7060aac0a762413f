"""The parsing side of an expression: ``ast.parse``, the whitelist walk that refuses
anything else with a column, and constant folding. Nothing reaches ``eval``/``exec``."""

from __future__ import annotations

import ast
import functools
import math
from typing import NoReturn

import numpy as np

from . import closures
from .expression import Expression, ExpressionError, Failures, Node

MAX_SOURCE_CHARS = 500
MAX_DEPTH = 32
MAX_LITERAL = 1e18
VARIABLES = frozenset({"step", "epoch", "x"})
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
REFUSED_CONSTANTS = {"inf", "nan", "infinity", "NaN", "Inf"}

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
        self.variable_count = 0  # variable names compiled so far
        self.operations = 0  # array operations per evaluation (folded constants count once)
        self.elementwise = 0  # of which call the C library once per element ('**', exp...)
        self.slow = 0  # of which are dear numpy operations (cos, sin, %, //)

    def _offset(self, lineno: int, byte_column: int) -> int:
        """1-based column in the whole source of a (line, UTF-8 byte column) pair."""
        line = self.source[self.lead :].split("\n")[lineno - 1]
        column = len(line.encode()[:byte_column].decode(errors="ignore"))
        return self.lead + self.line_starts[lineno - 1] + column + 1

    def position(self, node: ast.AST) -> int:
        """1-based column in the whole source where ``node`` starts."""
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
        before, before_elementwise, before_slow = self.operations, self.elementwise, self.slow
        names_before = self.variable_count
        fn = self._compile(node, depth + 1)
        self.operations += 1
        if isinstance(fn, closures.Constant):  # a literal or a named constant: nothing to fold
            return fn, fn.value
        if self.variable_count == names_before:  # no variable below: fold to a constant
            failures = Failures(1)
            with np.errstate(all="ignore"):
                value = float(fn(np.zeros(1), np.zeros(1, dtype=np.intp), failures)[0])
            first = failures.first()
            if first is not None:
                failure = first[1]
                raise ExpressionError(self.loc, failure.msg, failure.position, self.source)
            self.operations, self.elementwise, self.slow = (
                before + 1,
                before_elementwise,
                before_slow,
            )
            return closures.constant(value), value
        return fn, None

    def _compile(self, node: ast.AST, depth: int) -> Node:
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.UnaryOp):
            operand, _ = self.compile(node.operand, depth)
            if isinstance(node.op, ast.USub):
                return closures.negate(operand)
            if isinstance(node.op, ast.UAdd):
                return operand
            if isinstance(node.op, ast.Not):
                return closures.logical_not(operand)
            self.fail(node, "bitwise '~' is not allowed")
        if isinstance(node, ast.BinOp):
            make = closures.BINARY.get(type(node.op))
            if make is None:
                raise ExpressionError(
                    self.loc,
                    "bitwise operators are not allowed",
                    self.operator_position(node),
                    self.source,
                )
            left, _ = self.compile(node.left, depth)
            right, _ = self.compile(node.right, depth)
            self.elementwise += isinstance(node.op, ast.Pow)
            self.slow += isinstance(node.op, (ast.Mod, ast.FloorDiv))
            return make(left, right, self.operator_position(node))
        if isinstance(node, ast.BoolOp):
            return self._boolop(node, depth)
        if isinstance(node, ast.Compare):
            return self._compare(node, depth)
        if isinstance(node, ast.IfExp):
            test, _ = self.compile(node.test, depth)
            body, _ = self.compile(node.body, depth)
            orelse, _ = self.compile(node.orelse, depth)
            return closures.if_else(test, body, orelse)
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
        return closures.constant(float(value))

    def _name(self, node: ast.Name) -> Node:
        if node.id in VARIABLES:
            self.uses_variable = True
            self.variable_count += 1
            return closures.variable()
        if node.id in CONSTANTS:
            return closures.constant(CONSTANTS[node.id])
        if node.id in REFUSED_CONSTANTS:
            self.fail(node, f"'{node.id}' is not allowed: a schedule must stay finite")
        if node.id in closures.FUNCTIONS:
            self.fail(node, f"'{node.id}' is a function; call it as {node.id}(...)")
        self.fail(node, f"unknown name '{node.id}' (use step, epoch or x)")

    def _boolop(self, node: ast.BoolOp, depth: int) -> Node:
        parts = [self.compile(value, depth)[0] for value in node.values]
        return closures.bool_chain(parts, stop_on_true=isinstance(node.op, ast.Or))

    def _compare(self, node: ast.Compare, depth: int) -> Node:
        first, _ = self.compile(node.left, depth)
        ops = []
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            check = closures.COMPARE.get(type(op))
            if check is None:
                self.fail(node, "'in' and 'is' are not allowed")
            ops.append((check, self.compile(comparator, depth)[0]))
        return closures.compare_chain(first, ops)

    def _call(self, node: ast.Call, depth: int) -> Node:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
                self.fail(node, f"attribute access is not allowed; write {node.func.attr}(...)")
            self.fail(node, "only calls of the listed functions are allowed")
        name = node.func.id
        if name not in closures.FUNCTIONS:
            self.fail(node, f"unknown function '{name}'")
        if node.keywords:
            self.fail(node, f"{name}() takes no keyword arguments")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.fail(arg, "starred arguments are not allowed")
        function, least, most = closures.FUNCTIONS[name]
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
        self.elementwise += bool(getattr(function, "elementwise", False))
        self.slow += bool(getattr(function, "slow", False))
        return closures.function_call(name, function, args, self.position(node))


def compile_expression(source: str, *, loc: str) -> Expression:
    """Parse and check ``source`` once; return a fast callable or raise ExpressionError.

    Compiled closures are immutable, so the last 1,024 sources are kept and shared."""
    if not isinstance(source, str):
        raise ExpressionError(loc, "must be an expression string")
    try:
        compiled = _compiled(source)
    except ExpressionError as exc:
        raise ExpressionError(loc, exc.msg, exc.position, exc.source) from None
    return Expression(source, *compiled, loc)


def forget_compiled() -> None:
    """Drop the cache of compiled sources (benchmarks measure compiling from nothing)."""
    _compiled.cache_clear()


@functools.lru_cache(maxsize=1024)
def _compiled(source: str) -> tuple[Node, bool, int, int, int]:
    """``source``'s closure, whether it uses the variable, and its operation counts."""
    loc = ""  # compile_expression puts the field's path in
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
    return fn, compiler.uses_variable, compiler.operations, compiler.elementwise, compiler.slow
