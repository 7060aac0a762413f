"""Refusing specs over the limits of :mod:`engine.limits`, naming the field and the limit.

``check_shape`` looks at raw JSON before it is validated field by field (so a spec of
10,000 children costs next to nothing to refuse); ``check_cost`` looks at the validated
spec: its expressions, its running products and whether it can serve enough steps.
"""

from __future__ import annotations

from typing import Any

from . import cost
from .errors import join_loc
from .limits import LIMITS, CostLimitError, allowed_steps
from .specs.base import SpecModel


def check_shape(data: Any, loc: str = "", depth: int = 1, seen: list[int] | None = None) -> None:
    """Refuse raw JSON over the structural limits before it is validated (cheap)."""
    seen = [0, 0] if seen is None else seen  # nodes, expression characters so far
    if not isinstance(data, dict):
        return
    seen[0] += 1
    if seen[0] > LIMITS.max_nodes:
        raise CostLimitError(loc, f"a spec may have at most {LIMITS.max_nodes} nodes", "max_nodes")
    for name in cost.EXPRESSION_FIELDS:
        source = data.get(name)
        texts = [source] if isinstance(source, str) else source if isinstance(source, list) else []
        seen[1] += sum(len(text) for text in texts if isinstance(text, str))
        if seen[1] > LIMITS.max_expression_chars_total:
            raise CostLimitError(
                join_loc(loc, name),
                f"a spec's expressions may have at most {LIMITS.max_expression_chars_total}"
                " characters in all",
                "max_expression_chars_total",
            )
    if depth > LIMITS.max_depth:
        raise CostLimitError(
            loc, f"nesting deeper than {LIMITS.max_depth} levels is refused", "max_depth"
        )
    children = data.get("schedulers")
    if isinstance(children, list):
        here = f"{loc}.schedulers" if loc else "schedulers"
        if len(children) > LIMITS.max_children:
            raise CostLimitError(
                here,
                f"at most {LIMITS.max_children} children, got {len(children)}",
                "max_children",
            )
        for i, item in enumerate(children):
            check_shape(item, f"{here}[{i}]", depth + 1, seen)
    inner = data.get("schedule")
    if isinstance(inner, dict):
        check_shape(inner, f"{loc}.schedule" if loc else "schedule", depth + 1, seen)


def check_cost(spec: SpecModel) -> cost.SpecCost:
    """The spec's cost, or CostLimitError when it cannot serve ``min_steps`` in the budget."""
    found = cost.spec_cost(spec)
    _check_expressions(spec, "")
    product_us = _running_products_us(spec)
    if product_us > LIMITS.budget_us:
        raise CostLimitError(
            _expression_loc(spec, ""),
            f"a step-dependent MultiplicativeLR multiplies its factor over up to"
            f" {LIMITS.running_product_steps} steps; this one would cost about"
            f" {product_us / 1000:.0f} ms of CPU (the limit is"
            f" {LIMITS.budget_us / 1000:.0f} ms): use fewer or cheaper operations",
            "running_product",
        )
    if found.prefix_us > LIMITS.budget_us:
        raise CostLimitError(
            "",
            f"compiling this spec's expressions and running products would cost about"
            f" {found.prefix_us / 1000:.0f} ms of CPU (the limit is"
            f" {LIMITS.budget_us / 1000:.0f} ms)",
            "one_off",
        )
    allowed = allowed_steps(found, 1)
    if allowed < LIMITS.min_steps:
        raise CostLimitError(
            "",
            f"this spec costs about {found.value_us:.2f} µs per step and"
            f" {found.call_us:.0f} µs per call: at most {allowed} steps fit the"
            f" {LIMITS.budget_us / 1000:.0f} ms budget, fewer than {LIMITS.min_steps}",
            "min_steps",
        )
    return found


def _check_expressions(spec: SpecModel, loc: str) -> None:
    for name in cost.EXPRESSION_FIELDS:
        source = getattr(spec, name, None)
        if source is None:
            continue
        sources = [source] if isinstance(source, str) else source
        for i, text in enumerate(sources):
            ops = cost.expression_cost(text, name).ops
            if ops > LIMITS.max_expression_ops:
                where = (
                    join_loc(loc, name)
                    if isinstance(source, str)
                    else f"{join_loc(loc, name)}[{i}]"
                )
                raise CostLimitError(
                    where,
                    f"an expression may have at most {LIMITS.max_expression_ops} operations,"
                    f" got {ops}",
                    "max_expression_ops",
                )
    for parts, child in spec.children():
        path = loc
        for part in parts:
            path = join_loc(path, part)
        _check_expressions(child, path)


def _running_products_us(spec: SpecModel) -> float:
    return cost.running_product_us(spec) + sum(
        _running_products_us(child) for _, child in spec.children()
    )


def _expression_loc(spec: SpecModel, loc: str) -> str:
    """The path of the first step-dependent MultiplicativeLR's ``lr_lambda``."""
    if cost.running_product_us(spec) > 0:
        return join_loc(loc, "lr_lambda")
    for parts, child in spec.children():
        path = loc
        for part in parts:
            path = join_loc(path, part)
        found = _expression_loc(child, path)
        if found:
            return found
    return ""
