"""LambdaLR and MultiplicativeLR: torch's callables as expression strings of the step."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import Field

from ..curves import Curve, power
from ..errors import SpecError
from ..expr import Expression, ExpressionError, compile_expression
from ..node import Context, Node, proportional
from .base import Problem, SpecModel, lift

Source = Annotated[str, Field(min_length=1)]
Lambdas = Source | Annotated[list[Source], Field(min_length=1)]

MULTIPLICATIVE_MAX_STEP = 1_000_000
"""A step-dependent MultiplicativeLR holds its value from this step on (see docs)."""
CHUNK = 256


def expression_problems(value: str | list[str], name: str) -> Iterator[Problem]:
    """Syntax problems of one expression or a list of them, with their paths."""
    sources = [value] if isinstance(value, str) else value
    for i, source in enumerate(sources):
        parts: tuple[str | int, ...] = (name,) if isinstance(value, str) else (name, i)
        try:
            compile_expression(source, loc=name)
        except ExpressionError as exc:
            yield parts, exc.reason


def compile_per_group(ctx: Context, value: str | list[str], name: str) -> list[Expression]:
    """One compiled expression per group (a single string is shared by all)."""
    if isinstance(value, str):
        return [compile_expression(value, loc=ctx.loc(name))] * ctx.num_groups
    if len(value) != ctx.num_groups:
        raise SpecError(
            f"expected {ctx.num_groups} expressions (one per parameter group), got {len(value)}",
            ctx.loc(name),
        )
    return [
        compile_expression(source, loc=f"{ctx.loc(name)}[{i}]") for i, source in enumerate(value)
    ]


def probe(fns: list[Curve], steps: tuple[int, ...] = (0, 1)) -> None:
    """Evaluate at a few steps so that a failing expression is refused at build time."""
    for fn in fns:
        for step in steps:
            try:
                fn(step)
            except ExpressionError as exc:
                raise SpecError([{"loc": exc.loc, "msg": exc.reason}]) from None


class LambdaLR(SpecModel):
    """``base_lr * lr_lambda(step)``; ``lr_lambda`` is an expression such as ``"0.95 ** epoch"``."""

    type: Literal["LambdaLR"] = "LambdaLR"
    lr_lambda: Lambdas

    def problems(self) -> Iterator[Problem]:
        return expression_problems(self.lr_lambda, "lr_lambda")

    def compile(self, ctx: Context) -> Node:
        bases = ctx.require_bases()
        exprs = compile_per_group(ctx, self.lr_lambda, "lr_lambda")
        probe(list(exprs))
        if isinstance(self.lr_lambda, str):
            return proportional(bases, lift(exprs[0]))
        fns = [_times(b, e) for b, e in zip(bases, exprs, strict=True)]
        return Node(lrs=tuple(lift(fn) for fn in fns), bases=bases)


def _times(base: float, factor: Curve) -> Curve:
    return lambda step: base * factor(step)


class MultiplicativeLR(SpecModel):
    """Multiply the lr by ``lr_lambda(step)`` at every step from 1 on.

    A factor that does not mention the step is a closed form (``base * f ** step``);
    one that does is a running product, cached in chunks of 256 steps and held
    constant from step 1,000,000 on.
    """

    type: Literal["MultiplicativeLR"] = "MultiplicativeLR"
    lr_lambda: Lambdas

    def problems(self) -> Iterator[Problem]:
        return expression_problems(self.lr_lambda, "lr_lambda")

    def compile(self, ctx: Context) -> Node:
        bases = ctx.require_bases()
        exprs = compile_per_group(ctx, self.lr_lambda, "lr_lambda")
        probe(list(exprs))
        if isinstance(self.lr_lambda, str):
            return proportional(bases, lift(_products(exprs[0])))
        fns = [_times(b, _products(e)) for b, e in zip(bases, exprs, strict=True)]
        return Node(lrs=tuple(lift(fn) for fn in fns), bases=bases)


def _products(expr: Expression) -> Curve:
    """``f(1) * ... * f(step)``: a power when ``f`` is a constant, else a running product."""
    if not expr.uses_variable:
        factor = expr(0)
        return lambda step: power(factor, step)
    return RunningProduct(expr)


class RunningProduct:
    """``f(1) * f(2) * ... * f(step)``, with a checkpoint every ``CHUNK`` steps.

    The first call at step n costs O(n) evaluations of ``f`` (n <= the limit); later, a
    random step costs at most ``CHUNK`` evaluations and the next step after the last one
    asked (as a window walks) costs one. Steps past ``limit`` give the product at ``limit``.
    """

    def __init__(self, factor: Curve, limit: int = MULTIPLICATIVE_MAX_STEP) -> None:
        self._factor = factor
        self._limit = limit
        self._checkpoints = [1.0]
        self._cursor = (0, 1.0)
        self._final: float | None = None
        self._lock = threading.Lock()

    def __call__(self, step: int) -> float:
        if step >= self._limit:
            if self._final is None:
                self._final = self._at(self._limit)
            return self._final
        return self._at(step)

    def _at(self, step: int) -> float:
        chunk = step // CHUNK
        if len(self._checkpoints) <= chunk:
            with self._lock:  # one thread extends the cache; the others then read it
                while len(self._checkpoints) <= chunk:
                    first = (len(self._checkpoints) - 1) * CHUNK
                    last = self._run(self._checkpoints[-1], first, first + CHUNK)
                    self._checkpoints.append(last)
        start, value = chunk * CHUNK, self._checkpoints[chunk]
        cursor_step, cursor_value = self._cursor
        if start <= cursor_step <= step:
            start, value = cursor_step, cursor_value
        value = self._run(value, start, step)
        self._cursor = (step, value)
        return value

    def _run(self, value: float, first: int, last: int) -> float:
        for j in range(first + 1, last + 1):
            if value == 0.0:
                return 0.0
            value *= self._factor(j)
        return value
