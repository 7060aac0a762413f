"""Custom-schedule expressions: semantics, refusals with positions, cost bounds."""

from __future__ import annotations

import contextlib
import math
import operator
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrhub_service.engine.expr import (
    MAX_DEPTH,
    Expression,
    ExpressionError,
    compile_expression,
)

LOC = "schedulers[1].lr_lambda"


def refused(source: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        compile_expression(source, loc=LOC)
    assert info.value.loc == LOC
    assert str(info.value).startswith(f"{LOC}: ")
    return info.value


# --- semantics -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "x", "expected"),
    [
        ("0.95 ** epoch", 3, 0.95**3),
        ("step // 30", 95, 3.0),
        ("step % 30", 95, 5.0),
        ("-x % 7", 3, 4.0),
        ("0.1 ** (epoch // 30)", 61, 0.1**2),
        ("min(1, (step + 1) / 10)", 4, 0.5),
        ("max(0.1, 1 - x / 100, 0.05)", 95, 0.1),
        ("abs(x - 10)", 3, 7.0),
        ("0.5 * (1 + cos(pi * step / 100))", 25, 0.5 * (1 + math.cos(math.pi * 25 / 100))),
        ("exp(-x) + log(e) + log(8, 2) + log2(4) + log10(1000)", 0, 1.0 + 1.0 + 3.0 + 2.0 + 3.0),
        ("sqrt(x) + floor(2.7) + ceil(2.1) + sin(0) + tan(0)", 16, 4.0 + 2.0 + 3.0),
        ("1 if 0 <= step < 10 else 0.5", 9, 1.0),
        ("1 if 0 <= step < 10 else 0.5", 10, 0.5),
        ("1 if 0 < x < 5 < 2 * x else 0", 3, 1.0),
        ("(x > 2) * 0.5 + (x == 3) + (x != 3)", 3, 1.5),
        ("x > 1 and x < 5", 3, 1.0),
        ("x > 5 or 0.25", 3, 0.25),
        ("not x", 0, 1.0),
        ("not x", 2, 0.0),
        ("x and 7", 0, 0.0),
        ("step * epoch * x", 2, 8.0),
        ("2 ** -1 + +x - -x", 1, 2.5),
        ("  (\n x + 1)", 1, 2.0),
    ],
)
def test_values(source: str, x: float, expected: float) -> None:
    expression = compile_expression(source, loc=LOC)
    assert isinstance(expression, Expression)
    assert expression(x) == pytest.approx(expected, rel=1e-15)
    assert isinstance(expression(x), float)


def test_matches_torch_style_lambda_bit_for_bit() -> None:
    expression = compile_expression("0.95 ** epoch", loc="lr_lambda")
    for epoch in range(0, 2000, 7):
        assert expression(epoch) == 0.95**epoch


def test_attributes() -> None:
    expression = compile_expression("0.5 * step", loc="x")
    assert expression.source == "0.5 * step"
    assert expression.uses_variable is True
    constant = compile_expression("2 * pi", loc="x")
    assert constant.uses_variable is False
    assert constant(123) == 2 * math.pi
    assert repr(expression) == "Expression('0.5 * step')"


def test_large_steps_cost_the_same_and_stay_exact() -> None:
    expression = compile_expression("0.1 ** (step // 30)", loc=LOC)
    assert expression(10**12 + 5) == 0.0  # underflows to zero, never an error
    assert compile_expression("step % 1000", loc=LOC)(10**12 + 7) == 7.0


# --- refusals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "fragment", "column"),
    [
        ("__import__('os')", "unknown function '__import__'", 1),
        ("().__class__", "attribute access", 1),
        ("x.real", "attribute access", 1),
        ("math.cos(x)", "write cos(...)", 1),
        ("x + os", "unknown name 'os'", 5),
        ("x[0]", "subscripts", 1),
        ("lambda: 1", "lambda", 1),
        ("[i for i in range(9)]", "comprehensions", 1),
        ("(i for i in x)", "generator", 1),
        ('f"{x}"', "f-strings", 1),
        ("'abc' * 3", "strings", 1),
        ("b'abc'", "strings", 1),
        ("(y := 3)", "assignment", 2),
        ("[1, 2]", "lists", 1),
        ("(1, 2)", "tuples", 1),
        ("{1: 2}", "dicts", 1),
        ("True", "True is not allowed", 1),
        ("None", "None is not allowed", 1),
        ("1j", "1j is not allowed", 1),
        ("x | 1", "bitwise", 3),
        ("~x", "'~'", 1),
        ("x in 1", "'in' and 'is'", 1),
        ("x + inf", "must stay finite", 5),
        ("nan", "must stay finite", 1),
        ("cos + 1", "call it as cos(...)", 1),
        ("x(1)", "unknown function 'x'", 1),
        ("(cos)(x)(1)", "only calls of the listed functions", 1),
        ("log(1, 2, 3)", "takes 1 or 2 arguments (3 given)", 1),
        ("max(x)", "takes 2 or more arguments (1 given)", 1),
        ("abs(x, 2)", "takes 1 arguments (2 given)", 1),
        ("abs(x=2)", "no keyword arguments", 1),
        ("max(*x)", "starred", 5),
        ("1e30 * x", "number too large", 1),
        ("x * 10000000000000000000000", "number too large", 5),
        ("9**9**9", "'**' overflows", 2),
        ("2 ** 10000.5", "overflows", 3),
        ("1 / 0", "division by zero in '/'", 3),
        ("x + 1 % 0", "division by zero in '%'", 7),
        ("log(-1)", "log() is undefined", 1),
        ("sqrt(-1) + x", "sqrt() is undefined", 1),
        ("exp(1000)", "exp() overflows", 1),
        ("(-8) ** 0.5", "'**' is undefined", 6),
        ("x +", "syntax error", None),
        ("x +* 2", "syntax error", 4),
    ],
)
def test_refusals_name_the_field_and_the_column(
    source: str, fragment: str, column: int | None
) -> None:
    error = refused(source)
    assert fragment in error.msg, error.msg
    if column is not None:
        assert error.position == column
        assert str(error) == f"{LOC}: {error.msg} at column {column}"
        assert error.caret.splitlines() == [source.replace("\n", " "), " " * (column - 1) + "^"]


def test_message_format_example() -> None:
    error = refused("os")
    assert str(error) == f"{LOC}: unknown name 'os' (use step, epoch or x) at column 1"
    assert error.reason == "unknown name 'os' (use step, epoch or x) at column 1"
    assert isinstance(error, ValueError)


def test_positions_count_characters_across_lines_and_leading_space() -> None:
    assert refused("  x + y").position == 7
    assert refused("(x +\n  zz)").position == 8
    assert refused("'é' + x").position == 1
    assert refused("x + ééé").position == 5
    assert refused("(x # ééé\n + bad)").position == 13


def test_long_source_refused_without_parsing() -> None:
    started = time.perf_counter()
    error = refused("x + " * 2500 + "x")
    assert "10001 characters" in error.msg and "limit is 500" in error.msg
    assert error.position is None and error.caret == ""
    assert str(error) == f"{LOC}: {error.msg}"
    assert time.perf_counter() - started < 0.1


def test_caret_window_of_a_long_source() -> None:
    source = "1.000000000000000000000 + " * 18 + "bad"
    lines = refused(source).caret.splitlines()
    assert len(lines[0]) <= 84 and lines[1].index("^") == lines[0].index("bad")


@pytest.mark.parametrize("wrap", [lambda s: f"-{s}", lambda s: f"abs({s})", lambda s: f"({s} + 1)"])
def test_nesting_depth_is_bounded(wrap: Callable[[str], str]) -> None:
    shallow = "x"
    for _ in range(MAX_DEPTH // 2):
        shallow = wrap(shallow)
    compile_expression(shallow, loc=LOC)(1.0)
    deep = "x"
    for _ in range(MAX_DEPTH + 1):
        deep = wrap(deep)
    assert "nests deeper" in refused(deep).msg


def test_deep_unary_chain_refused() -> None:
    assert "nests deeper" in refused("-" * 200 + "x").msg
    assert "nests deeper" in refused("(" * 200 + "x" + ")" * 200 + "+" + "x+" * 40 + "x").msg


@pytest.mark.parametrize(
    "source", ["", "   ", "\n", "x\x00", "(" * 250 + ")" * 250, "x if x", "import os"]
)
def test_malformed(source: str) -> None:
    refused(source)


def test_not_a_string() -> None:
    with pytest.raises(ExpressionError, match="must be an expression string"):
        compile_expression(3.0, loc=LOC)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("source", "x", "fragment"),
    [
        ("1 / (x - 3)", 3, "division by zero in '/' when x = 3"),
        ("log(x)", 0, "log() is undefined here (math domain error) when x = 0"),
        ("2 ** x", 5000, "'**' overflows when x = 5000"),
        (" * ".join(["x"] * 18), 1e18, "'*' overflows"),
        ("x // (x - 1)", 1, "division by zero in '//'"),
    ],
)
def test_evaluation_errors(source: str, x: float, fragment: str) -> None:
    expression = compile_expression(source, loc=LOC)
    with pytest.raises(ExpressionError) as info:
        expression(x)
    assert fragment in info.value.msg
    assert info.value.loc == LOC and info.value.position is not None


def test_constant_subexpressions_fail_at_compile_time() -> None:
    assert "division by zero" in refused("x if x > 0 else 1 / 0").msg


# --- cost ---------------------------------------------------------------------------


def test_array_evaluation_costs_less_than_a_python_loop_of_the_same_formula() -> None:
    """Peer in the same run (no absolute timing): the formula written as a Python loop."""
    expression = compile_expression(
        "min(1, (step + 1) / 500) * 0.5 * (1 + cos(pi * step / 9e4))", loc=LOC
    )
    steps = np.arange(20_000, dtype=np.int64)

    def python_loop() -> list[float]:
        return [
            min(1, (s + 1) / 500) * 0.5 * (1 + math.cos(math.pi * s / 9e4)) for s in range(20_000)
        ]

    def median_seconds(work: Callable[[], object]) -> float:
        rounds = []
        for _ in range(5):
            started = time.perf_counter()
            work()
            rounds.append(time.perf_counter() - started)
        return sorted(rounds)[2]

    assert np.array_equal(expression.evaluate(steps), np.array(python_loop()))
    assert median_seconds(lambda: expression.evaluate(steps)) < median_seconds(python_loop)


def test_worst_case_compile_is_bounded() -> None:
    source = "+".join(["cos(x)*2**x"] * 41)[:500].rstrip("+*2cos(x)")
    started = time.perf_counter()
    with contextlib.suppress(ExpressionError):
        compile_expression(source, loc=LOC)
    assert time.perf_counter() - started < 0.5


# --- round trips against Python's own arithmetic -------------------------------------


@dataclass(frozen=True)
class Tree:
    text: str
    lazy: Callable[[float], float]  # Python semantics: short-circuit, errors where Python has them


class Refused(Exception):
    pass


def _checked(value: object) -> float:
    if isinstance(value, complex) or not math.isfinite(float(value)):  # type: ignore[arg-type]
        raise Refused
    return float(value)  # type: ignore[arg-type]


def _apply(op: Callable[[float, float], object]) -> Callable[[Tree, Tree], Tree]:
    def build(left: Tree, right: Tree) -> Tree:
        def evaluate(x: float) -> float:
            try:
                return _checked(op(left.lazy(x), right.lazy(x)))
            except (ZeroDivisionError, OverflowError, ValueError):
                raise Refused from None

        return evaluate  # type: ignore[return-value]

    return build


SYMBOLS: dict[str, Callable[[float, float], object]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
}

leaves = st.one_of(
    st.just(Tree("x", lambda x: x)),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(
        lambda v: Tree(f"({v!r})", lambda _x, v=v: v)
    ),
    st.integers(min_value=-50, max_value=50).map(
        lambda v: Tree(f"({v})", lambda _x, v=v: float(v))
    ),
)


def _extend(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    def binary(symbol: str, left: Tree, right: Tree) -> Tree:
        evaluate = _apply(SYMBOLS[symbol])(left, right)
        return Tree(f"({left.text} {symbol} {right.text})", evaluate)  # type: ignore[arg-type]

    def conditional(test: Tree, body: Tree, orelse: Tree) -> Tree:
        return Tree(
            f"({body.text} if {test.text} else {orelse.text})",
            lambda x: body.lazy(x) if test.lazy(x) else orelse.lazy(x),
        )

    def function(name: str, arg: Tree, other: Tree) -> Tree:
        unary = {
            "abs": abs,
            "cos": math.cos,
            "sqrt": math.sqrt,
            "exp": math.exp,
            "floor": math.floor,
        }

        def evaluate(x: float) -> float:
            try:
                if name in ("min", "max"):
                    return _checked((min if name == "min" else max)(arg.lazy(x), other.lazy(x)))
                return _checked(unary[name](arg.lazy(x)))
            except (ValueError, OverflowError):
                raise Refused from None

        text = (
            f"{name}({arg.text}, {other.text})" if name in ("min", "max") else f"{name}({arg.text})"
        )
        return Tree(text, evaluate)

    return st.one_of(
        st.builds(binary, st.sampled_from(sorted(SYMBOLS)), children, children),
        st.builds(conditional, children, children, children),
        st.builds(
            function,
            st.sampled_from(["abs", "cos", "sqrt", "exp", "floor", "min", "max"]),
            children,
            children,
        ),
    )


expressions = st.recursive(leaves, _extend, max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(tree=expressions, x=st.floats(min_value=-1e4, max_value=1e4, allow_nan=False))
def test_round_trip_against_python(tree: Tree, x: float) -> None:
    try:
        expression = compile_expression(tree.text, loc=LOC)
    except ExpressionError as error:
        # Only a failing constant part (folded at compile time) or depth may refuse.
        assert error.position is not None
        assert any(word in error.msg for word in ("overflows", "division", "undefined", "nests"))
        return
    try:
        expected = tree.lazy(x)
    except Refused:
        with pytest.raises(ExpressionError):
            expression(x)
        return
    assert expression(x) == expected


def test_error_is_a_spec_error_with_one_entry() -> None:
    from lrhub_service.engine import SpecError

    error = refused("x + os")
    assert isinstance(error, SpecError)
    assert error.errors == [
        {"loc": LOC, "msg": "unknown name 'os' (use step, epoch or x) at column 5"}
    ]
    with pytest.raises(ExpressionError, match="too large"):
        compile_expression("x", loc=LOC)(10**400)
