"""LambdaLR and MultiplicativeLR: torch's callables as expression strings of the step."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from ..curves import Curve, Floats, Steps, power
from ..errors import SpecError
from ..expr import Expression, ExpressionError, compile_expression
from ..node import Context, Node, proportional
from .base import Problem, SpecModel, lift

Source = Annotated[str, Field(min_length=1)]
Lambdas = Source | Annotated[list[Source], Field(min_length=1)]

MULTIPLICATIVE_MAX_STEP = 1_000_000
"""A step-dependent MultiplicativeLR holds its value from this step on (see docs)."""
CHUNK = 256
BLOCK = 64 * 1024  # steps evaluated at once while filling checkpoints


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


def probe(fns: list[Expression], steps: tuple[int, ...] = (0, 1)) -> None:
    """Evaluate at a few steps so that a failing expression is refused at build time."""
    for fn in fns:
        try:
            fn.evaluate(np.array(steps, dtype=np.float64))
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
            return proportional(bases, lift(exprs[0].evaluate))
        fns = [_times(b, e.evaluate) for b, e in zip(bases, exprs, strict=True)]
        return Node(lrs=tuple(lift(fn) for fn in fns), bases=bases)


def _times(base: float, factor: Curve) -> Curve:
    return lambda steps: base * factor(steps)


class MultiplicativeLR(SpecModel):
    """Multiply the lr by ``lr_lambda(step)`` at every step from 1 on.

    A factor that does not mention the step is a closed form (``base * f ** step``);
    one that does is a running product (``np.cumprod`` over blocks, a checkpoint every
    256 steps), held constant from step 1,000,000 on.
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
        return lambda steps: power(factor, steps)
    return RunningProduct(expr)


class RunningProduct:
    """``f(1) * f(2) * ... * f(step)``, with a checkpoint every ``CHUNK`` steps.

    Checkpoints are filled in blocks of ``BLOCK`` steps with ``np.cumprod`` (a sequential
    product, so every value equals the step-by-step product exactly); a range of steps then
    costs its length plus at most ``CHUNK`` evaluations of ``f``. Steps past ``limit``
    give the product at ``limit``, so the whole product never costs more than ``limit``
    evaluations. Once the product is 0 it stays 0 and later factors are not looked at; a
    factor that fails before that fails every step from its own on.
    """

    def __init__(self, factor: Expression, limit: int = MULTIPLICATIVE_MAX_STEP) -> None:
        self._factor = factor
        self._limit = limit
        self._checkpoints = [1.0]  # [k]: the product through step k * CHUNK
        self._failure: tuple[int, ExpressionError] | None = None
        self._lock = threading.Lock()

    def __call__(self, steps: Steps) -> Floats:
        at = np.minimum(steps, self._limit)
        if not at.size:
            return np.empty(0)
        low, high = int(at.min()), int(at.max())
        self._extend(low // CHUNK)
        failure = self._failure
        if failure is not None and high >= failure[0]:
            raise failure[1]
        first = (low // CHUNK) * CHUNK
        products, failed = self._run(self._checkpoints[low // CHUNK], first, high)
        if failed is not None:
            raise failed[1]
        return products[at - first]

    def _run(
        self, value: float, first: int, last: int
    ) -> tuple[Floats, tuple[int, ExpressionError] | None]:
        """Products through steps ``first .. last`` from ``value`` at ``first``, and the
        first step whose factor fails while the product is not 0 (or None)."""
        factors, failed = self._factor.attempt(np.arange(first + 1, last + 1, dtype=np.float64))
        products = np.cumprod(np.concatenate(([value], factors)))
        zeros = np.flatnonzero(products == 0.0)
        if zeros.size:
            products[zeros[0] :] = 0.0  # a zero product never looks at later factors
        if failed is not None and (not zeros.size or failed[0] < zeros[0]):
            return products, (first + 1 + failed[0], failed[1])
        return products, None

    def _extend(self, chunk: int) -> None:
        if len(self._checkpoints) > chunk or self._failure is not None:
            return
        with self._lock:  # one thread extends the cache; the others then read it
            while len(self._checkpoints) <= chunk and self._failure is None:
                first = (len(self._checkpoints) - 1) * CHUNK
                last = min(first + BLOCK, chunk * CHUNK)
                products, failed = self._run(self._checkpoints[-1], first, last)
                if failed is not None:
                    last = (failed[0] - 1) // CHUNK * CHUNK  # checkpoints before the failure
                    self._failure = failed
                self._checkpoints.extend(products[CHUNK : last - first + 1 : CHUNK].tolist())
