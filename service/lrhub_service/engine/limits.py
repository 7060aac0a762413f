"""Every limit on specs and requests, in one place, derived from one CPU budget.

The budget: the worst request the service admits (a window, an advance, a preview)
costs at most ``budget_us`` of CPU (50 ms) on the CI machine kind, as estimated by
:mod:`engine.cost`. From it:

- ``max_children``: a composite whose children are all of the dearest leaf type still
  serves a full window (``window_steps`` steps, one group) within the budget;
- ``max_nodes``: a spec of that many nodes of the dearest type still serves
  ``min_steps`` steps (one group) within the budget;
- ``max_expression_ops``: an expression of that many of the dearest operations (a
  C-library call per element) still serves a full window within the budget;
- ``max_expression_chars_total``: compiling every expression of a spec fits the budget;
- a step-dependent MultiplicativeLR's running product (over up to 1,000,000 steps) must
  fit the budget on its own;
- a request may evaluate ``steps x groups`` values only while the spec's estimated
  cost stays within the budget (:func:`admit`), and every admitted spec serves at least
  ``min_steps`` steps of one group.

Nesting depth and expression length were limits before the budget; they stay as they were.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from . import cost
from .errors import SpecError
from .expr import MAX_SOURCE_CHARS

BUDGET_US = 50_000.0
WINDOW_STEPS = 4096  # the service's default window (LRHUB_WINDOW_MAX) and the client's
MIN_STEPS = 256


class CostLimitError(SpecError):
    """A spec or request over a limit: ``.limit`` names it, ``.errors`` the field."""

    def __init__(self, loc: str, msg: str, limit: str) -> None:
        self.limit = limit
        super().__init__([{"loc": loc, "msg": msg}])


def _round_down(value: float) -> int:
    """``value`` rounded down to two significant digits (253 -> 250, 1453 -> 1400)."""
    if value < 10:
        return max(1, int(value))
    scale = 10 ** (int(math.log10(value)) - 1)
    return int(value // scale * scale)


@dataclass(frozen=True)
class Limits:
    """The limits, with the budget and coefficients they come from."""

    budget_us: float
    window_steps: int
    min_steps: int
    max_depth: int
    max_expression_chars: int
    max_nodes: int
    max_children: int
    max_expression_ops: int
    max_expression_chars_total: int
    running_product_steps: int

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "budget_ms": self.budget_us / 1000.0,
            "coefficients": {
                "evaluate_call_us": cost.EVALUATE_CALL_US,
                "evaluate_value_ns": cost.EVALUATE_VALUE_NS,
                "op_call_us": cost.OP_CALL_US,
                "op_value_ns": cost.OP_VALUE_NS,
                "elementwise_value_ns": cost.ELEMENTWISE_VALUE_NS,
                "types": {name: list(pair) for name, pair in cost.TYPE_COSTS.items()},
            },
        }


def derive(budget_us: float = BUDGET_US) -> Limits:
    """The limits that follow from ``budget_us`` and the measured coefficients."""
    skip = (*cost.COMPOSITES, *cost.SPECIAL)
    leaves = [pair for name, pair in cost.TYPE_COSTS.items() if name not in skip]
    dearest_call = max(call for call, _ in leaves)
    dearest_value = max(value for _, value in leaves) / 1000.0
    full_window = dearest_call + WINDOW_STEPS * dearest_value
    few_steps = dearest_call + MIN_STEPS * dearest_value
    op = cost.OP_CALL_US + WINDOW_STEPS * cost.ELEMENTWISE_VALUE_NS / 1000.0
    return Limits(
        budget_us=budget_us,
        window_steps=WINDOW_STEPS,
        min_steps=MIN_STEPS,
        max_depth=8,
        max_expression_chars=MAX_SOURCE_CHARS,
        max_nodes=_round_down(budget_us / few_steps),
        max_children=_round_down(budget_us / full_window),
        max_expression_ops=_round_down(budget_us / op),
        max_expression_chars_total=_round_down(budget_us / cost.COMPILE_US_PER_CHAR),
        running_product_steps=cost.RUNNING_PRODUCT_STEPS,
    )


LIMITS = derive()


def limits_json() -> dict[str, Any]:
    """What ``GET /v1/limits`` serves."""
    return LIMITS.to_json()


def allowed_steps(spec_cost: cost.SpecCost, groups: int, *, fresh: bool = False) -> int:
    """The most steps of ``groups`` groups one request may evaluate within the budget.

    ``fresh``: the request also validates and builds the spec (a preview), so it pays the
    one-off work (compiling expressions, running products) as well; a run's window reuses
    its built schedule and does not.
    """
    room = LIMITS.budget_us - spec_cost.call_us - (spec_cost.prefix_us if fresh else 0.0)
    if room <= 0:
        return 0
    return int(room / (spec_cost.value_us * max(1, groups)))


def admit(
    spec_cost: cost.SpecCost,
    steps: int,
    groups: int,
    field: str = "steps",
    *,
    cap: bool = False,
    fresh: bool = False,
) -> int:
    """The steps one request may evaluate: ``steps`` when it fits the budget; with
    ``cap``, as many as fit (at least 1); else CostLimitError naming ``field``.
    ``fresh`` as in :func:`allowed_steps` (a preview)."""
    allowed = allowed_steps(spec_cost, groups, fresh=fresh)
    if steps <= allowed:
        return steps
    if cap and allowed >= 1:
        return allowed
    if allowed < 1:
        raise CostLimitError(
            field,
            f"this spec's own work (compiling expressions, running products) leaves no room"
            f" for a {'preview' if fresh else 'request'} within the"
            f" {LIMITS.budget_us / 1000:.0f} ms CPU budget",
            "steps",
        )
    per = f" with {groups} groups" if groups > 1 else ""
    raise CostLimitError(
        field,
        f"this spec admits at most {allowed} steps per request{per}"
        f" (a {LIMITS.budget_us / 1000:.0f} ms CPU budget), got {steps}",
        "steps",
    )
