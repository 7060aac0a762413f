"""What a spec costs to evaluate: its shape, and CPU time per call and per value.

Every parsed spec gets a :class:`SpecCost`: node count, the widest composite, nesting,
expression size and operations, and an estimate of CPU microseconds for one array
evaluation of ``steps`` steps and ``groups`` groups (``request_us``). The coefficients
were measured on the CI machine kind (2 cores) by ``bench/engine_cost.py``; they are
upper-end figures, so estimates err on the dear side. ``engine.limits`` turns them into
limits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from .errors import join_loc
from .expr import compile_expression
from .specs.base import SpecModel
from .specs.custom import MULTIPLICATIVE_MAX_STEP

# (µs per evaluation call, ns per value) of each type's own work, children excluded:
# bench/engine_cost.py, the larger of two runs on a loaded 2-core machine (2026-12-01)
TYPE_COSTS: dict[str, tuple[float, float]] = {
    "LambdaLR": (2.5, 1.5),  # plus its expression (expression_cost)
    "MultiplicativeLR": (2.0, 5.0),
    "StepLR": (2.5, 5.5),
    "MultiStepLR": (2.5, 9.5),
    "ConstantLR": (2.5, 1.5),
    "LinearLR": (3.0, 2.0),
    "ExponentialLR": (2.0, 5.5),
    "PolynomialLR": (3.0, 2.0),
    "CosineAnnealingLR": (6.0, 12.5),
    "CosineAnnealingWarmRestarts": (6.0, 18.0),
    "CyclicLR": (21.0, 21.0),
    "OneCycleLR": (23.5, 25.5),
    "ReduceLROnPlateau": (2.0, 2.0),
    "SequentialLR": (5.0, 80.0),  # per value: routing 250 children (bench/engine_limits.py)
    "ChainedScheduler": (3.5, 1.5),
    "Warmup": (3.5, 1.5),
    "SGDR": (23.5, 42.5),
    "WarmupStableDecay": (17.0, 14.0),  # with falling stable and exp decay shapes (2026-12-01)
    "InverseSqrt": (6.5, 5.0),
    "LRRangeTest": (2.5, 6.0),
    "DivergenceGuard": (2.0, 2.0),
    "BatchSizeScaling": (5.5, 3.0),
    "PerEpoch": (2.0, 2.0),
    # the library-shaped primitives: best of 5 on a loaded 2-core machine, x1.5 (2026-12-01)
    "CycleAnneal": (23.5, 42.5),  # as SGDR (a similar cycle search), measured 27 µs, 27 ns
    "CosineDecay": (17.0, 25.5),
    "Offset": (4.0, 40.0),
    "GreedyLR": (10.5, 3.0),
    "LRNoise": (1500.0, 1500.0),  # uniform noise; normal noise: noise_cost
    "transformers": (1.0, 0.0),  # plus its expansion (engine/compat/)
    "timm": (1.0, 0.0),
}
DEFAULT_TYPE_COST = (23.5, 42.5)  # a type not measured yet counts as the dearest one
EVALUATE_CALL_US = 13.5  # Schedule.evaluate's own work per call (segments, checks)
EVALUATE_VALUE_NS = 1.0  # ... and per value (the lr check, the group rows)
OP_CALL_US = 0.35  # one expression operation: per call
OP_VALUE_NS = 1.0  # ... per value, a cheap numpy operation (+, *, min, comparisons)
SLOW_VALUE_NS = 10.0  # ... per value, a dear numpy operation (cos, sin, %, //)
ELEMENTWISE_VALUE_NS = 60.0  # ... per value, a C-library call per element ('**', exp, log)
COMPILE_US_PER_CHAR = 1.5  # compiling an expression (cached after the first time)
RUNNING_PRODUCT_STEPS = MULTIPLICATIVE_MAX_STEP
ONE_CHILD_PER_STEP = ("SequentialLR",)  # composites whose steps each go to one child
COMPOSITES = ("SequentialLR", "ChainedScheduler")  # types whose cost is mostly their children
SPECIAL = ("LRNoise",)  # costed by its arguments (noise_cost), not a leaf the limits follow
EXPRESSION_FIELDS = ("lr_lambda", "scale_fn")


@dataclass(frozen=True)
class SpecCost:
    """A spec's size and its estimated CPU cost of one array evaluation."""

    nodes: int
    max_children: int
    widest: str  # the field path of the composite with the most children ("" if none)
    depth: int
    expression_chars: int  # the longest expression
    expression_ops: int  # all expressions together, per value
    elementwise_ops: int  # of which call the C library per element
    call_us: float  # per evaluation call, whatever the number of steps
    value_us: float  # per step and group
    prefix_us: float  # one-off work the first evaluation may pay (compiling, running products)
    walk_us: float = 0.0  # of which running products: still payable once the spec is built

    def request_us(self, steps: int, groups: int, *, fresh: bool = False) -> float:
        """Estimated CPU µs to evaluate ``steps`` steps of ``groups`` groups in one call
        (``fresh``: validating and building the spec first, as a preview does)."""
        one_off = self.prefix_us if fresh else 0.0
        return self.call_us + one_off + steps * groups * self.value_us

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def built_cost(costs: Sequence[SpecCost]) -> SpecCost:
    """The cost of a built schedule of segments (a run's revisions), for ``fresh=True``.

    Each step goes to one segment, so a value costs the dearest segment's; one call may
    touch every segment. Expressions are compiled at build, so the one-off work left
    (``prefix_us``) is the running products' walk.
    """
    if not costs:
        raise ValueError("a schedule has at least one segment")
    dearest = max(costs, key=lambda found: found.value_us)
    walk = sum(found.walk_us for found in costs)
    return replace(
        dearest,
        nodes=sum(found.nodes for found in costs),
        max_children=max(found.max_children for found in costs),
        depth=max(found.depth for found in costs),
        expression_chars=max(found.expression_chars for found in costs),
        expression_ops=max(found.expression_ops for found in costs),
        elementwise_ops=max(found.elementwise_ops for found in costs),
        call_us=sum(found.call_us for found in costs),
        prefix_us=walk,
        walk_us=walk,
    )


@dataclass(frozen=True)
class ExpressionCost:
    """The size and per-value work of one expression (or of a list of them)."""

    chars: int
    ops: int
    elementwise: int
    slow: int = 0
    total_chars: int = 0

    @property
    def value_ns(self) -> float:
        cheap = self.ops - self.elementwise - self.slow
        return (
            cheap * OP_VALUE_NS
            + self.slow * SLOW_VALUE_NS
            + self.elementwise * ELEMENTWISE_VALUE_NS
        )

    @property
    def call_us(self) -> float:
        return self.ops * OP_CALL_US


def expression_cost(source: str | list[str], loc: str = "") -> ExpressionCost:
    """The cost of an expression field (a list costs the sum of its members)."""
    sources = [source] if isinstance(source, str) else source
    chars = ops = elementwise = slow = 0
    for text in sources:
        compiled = compile_expression(text, loc=loc)
        chars = max(chars, len(text))
        ops += compiled.operations
        elementwise += compiled.elementwise
        slow += compiled.slow
    return ExpressionCost(chars, ops, elementwise, slow, sum(len(t) for t in sources))


def running_product_us(spec: SpecModel) -> float:
    """One-off µs of a step-dependent MultiplicativeLR: its factors over every step."""
    source = getattr(spec, "lr_lambda", None)
    if getattr(spec, "type", None) != "MultiplicativeLR" or source is None:
        return 0.0
    sources = [source] if isinstance(source, str) else source
    total = 0.0
    for text in sources:
        compiled = compile_expression(text, loc="lr_lambda")
        if compiled.uses_variable:
            cost = ExpressionCost(
                len(text), compiled.operations, compiled.elementwise, compiled.slow
            )
            total += RUNNING_PRODUCT_STEPS * cost.value_ns / 1000.0
    return total


def noise_cost(spec: SpecModel) -> tuple[float, float]:
    """LRNoise's (µs per call, ns per value): seeding a generator per step; a normal draw is
    resampled until below ``pct``, so it costs about ``1 / P(|N(0, std)| < pct)`` draws
    (bench: 0.9 µs/value uniform; 2.9, 21 and 135 µs/value at P = 0.5, 0.04, 0.008)."""
    call_us, value_ns = TYPE_COSTS["LRNoise"]
    if getattr(spec, "noise_type", "normal") == "uniform":
        return call_us, value_ns
    accept = math.erf(float(spec.pct) / float(spec.std) / math.sqrt(2.0))  # type: ignore[attr-defined]
    rounds = 1.0 + max(0.0, math.log(1.0 / accept, 4))
    return call_us * rounds, value_ns + 1650.0 / accept


def spec_cost(spec: SpecModel) -> SpecCost:
    """The cost of a validated spec (its expressions are compiled to count their work)."""
    walk = _Walk()
    call_us, value_ns = walk.visit(spec, "", 1)
    return SpecCost(
        nodes=walk.nodes,
        max_children=walk.max_children,
        widest=walk.widest,
        depth=walk.depth,
        expression_chars=walk.chars,
        expression_ops=walk.ops,
        elementwise_ops=walk.elementwise,
        call_us=EVALUATE_CALL_US + call_us,
        value_us=(EVALUATE_VALUE_NS + value_ns) / 1000.0,
        prefix_us=walk.prefix_us,
        walk_us=walk.walk_us,
    )


class _Walk:
    """Sums node and expression costs over a spec tree; records its shape."""

    def __init__(self) -> None:
        self.nodes = self.max_children = self.depth = 0
        self.chars = self.ops = self.elementwise = 0
        self.widest = ""
        self.prefix_us = self.walk_us = 0.0

    def visit(self, spec: SpecModel, loc: str, depth: int) -> tuple[float, float]:
        """The subtree's (µs per call, ns per value)."""
        self.nodes += 1
        self.depth = max(self.depth, depth)
        kind = str(getattr(spec, "type", ""))
        call_us, value_ns = TYPE_COSTS.get(kind, DEFAULT_TYPE_COST)
        if kind == "LRNoise":
            call_us, value_ns = noise_cost(spec)
        for name in EXPRESSION_FIELDS:
            source = getattr(spec, name, None)
            if source is not None:
                found = expression_cost(source, name)
                self.chars = max(self.chars, found.chars)
                self.ops += found.ops
                self.elementwise += found.elementwise
                call_us += found.call_us
                value_ns += found.value_ns
                self.prefix_us += found.total_chars * COMPILE_US_PER_CHAR
        walk_us = running_product_us(spec)
        self.prefix_us += walk_us
        self.walk_us += walk_us
        expand = getattr(spec, "expand", None)
        if expand is not None:  # a compat form costs what it expands to
            found = self.visit(expand() if kind == "timm" else expand(None), loc, depth + 1)
            return call_us + found[0], value_ns + found[1]
        kids = spec.children()
        if len(kids) > self.max_children:
            self.max_children = len(kids)
            self.widest = join_loc(loc, kids[0][0][0])
        parts = []
        for path_parts, child in kids:
            path = loc
            for part in path_parts:
                path = join_loc(path, part)
            parts.append(self.visit(child, path, depth + 1))
        call_us += sum(call for call, _ in parts)
        values = [value for _, value in parts]
        if values:
            value_ns += max(values) if kind in ONE_CHILD_PER_STEP else sum(values)
        return call_us, value_ns
