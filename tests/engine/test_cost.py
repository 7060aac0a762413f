"""Costs and limits: issue 9's costly specs are refused naming the field and the limit,
or admitted only with a step count whose estimated CPU stays within the budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lrhub_service.engine import (
    LIMITS,
    CostLimitError,
    SpecError,
    admit,
    allowed_steps,
    limits_json,
    parse_spec,
    spec_cost,
    validate_spec,
)
from lrhub_service.engine.cost import RUNNING_PRODUCT_STEPS
from lrhub_service.engine.specs.custom import MULTIPLICATIVE_MAX_STEP

EXP = {"type": "ExponentialLR", "gamma": 0.999}


def chain(children: int, child: dict[str, Any] = EXP) -> dict[str, Any]:
    return {"type": "ChainedScheduler", "schedulers": [child] * children}


def refused(data: dict[str, Any]) -> CostLimitError:
    with pytest.raises(CostLimitError) as info:
        parse_spec(data)
    assert isinstance(info.value, SpecError)
    return info.value


def test_the_limits_follow_from_the_budget() -> None:
    assert LIMITS.budget_us == 50_000
    assert LIMITS.max_depth == 8 and LIMITS.max_expression_chars == 500
    assert 1 <= LIMITS.max_children < LIMITS.max_nodes
    served = limits_json()
    assert served["budget_ms"] == 50.0
    assert served["max_children"] == LIMITS.max_children
    assert "OneCycleLR" in served["coefficients"]["types"]
    assert RUNNING_PRODUCT_STEPS == MULTIPLICATIVE_MAX_STEP


def test_a_240_argument_min_in_a_multiplicative_lr_is_refused() -> None:
    source = "min(1," + ",".join(["x"] * 240) + ")"
    error = refused({"type": "MultiplicativeLR", "lr_lambda": source, "base_lr": 0.1})
    assert error.errors[0]["loc"] == "lr_lambda"
    assert f"at most {LIMITS.max_expression_ops} operations, got 242" in error.errors[0]["msg"]
    assert error.limit == "max_expression_ops"


def test_a_dear_running_product_is_refused_but_a_cheap_one_is_admitted() -> None:
    error = refused({"type": "MultiplicativeLR", "lr_lambda": "exp(-step / 1e9)"})
    assert error.errors[0]["loc"] == "lr_lambda" and error.limit == "running_product"
    assert "1000000 steps" in error.errors[0]["msg"] and "50 ms" in error.errors[0]["msg"]
    nested = refused(
        {"type": "Warmup", "warmup_steps": 5,
         "schedule": {"type": "MultiplicativeLR", "lr_lambda": "exp(-step / 1e9)"}}
    )  # fmt: skip
    assert nested.errors[0]["loc"] == "schedule.lr_lambda"
    _, found = validate_spec({"type": "MultiplicativeLR", "lr_lambda": "1 - 1e-7 * (step % 3)"})
    assert 0 < found.prefix_us < LIMITS.budget_us
    assert admit(found, 999_999, 1) == 999_999  # the running product is a one-off cost


def test_ten_thousand_chained_children_are_refused_by_the_children_limit() -> None:
    error = refused(chain(10_000))
    assert error.errors == [
        {"loc": "schedulers", "msg": f"at most {LIMITS.max_children} children, got 10000"}
    ]
    assert error.limit == "max_children"


def test_a_thousand_chained_children_are_refused_and_the_widest_chain_is_capped() -> None:
    assert refused(chain(1000)).limit == "max_children"
    widest = spec_cost(parse_spec(chain(LIMITS.max_children)))
    allowed = allowed_steps(widest, 1)
    assert LIMITS.window_steps <= allowed < 100_000
    if allowed >= 20_000:
        assert admit(widest, 20_000, 1) == 20_000
    with pytest.raises(CostLimitError) as info:  # a preview of 100,000 steps
        admit(widest, 100_000, 1)
    assert info.value.errors[0]["loc"] == "steps"
    assert f"at most {allowed} steps per request" in info.value.errors[0]["msg"]
    assert admit(widest, 100_000, 1, cap=True) == allowed
    assert widest.request_us(allowed, 1) <= LIMITS.budget_us


def test_a_window_over_fifty_chained_expressions_is_capped_within_the_budget() -> None:
    term = "0.5 * (1 + cos(pi * step / 9e4)) * min(1, (step + 1) / 500)"
    source = "+".join([term] * (LIMITS.max_expression_chars // (len(term) + 1)))
    found = spec_cost(parse_spec(chain(50, {"type": "LambdaLR", "lr_lambda": source})))
    assert found.expression_ops > 50 * 100
    steps = admit(found, 4096, 1, field="count", cap=True)
    assert 1 <= steps <= 4096
    assert found.request_us(steps, 1) <= LIMITS.budget_us


def test_groups_multiply_the_cost_of_a_request() -> None:
    found = spec_cost(parse_spec({"type": "OneCycleLR", "max_lr": 0.1, "total_steps": 10**6}))
    assert admit(found, 4096, 1) == 4096
    with pytest.raises(CostLimitError, match="with 1000 groups"):
        admit(found, 100_000, 1000, field="steps")
    assert allowed_steps(found, 10) * 10 <= allowed_steps(found, 1) + 10


def test_too_many_nodes_and_too_deep_nesting_are_refused() -> None:
    per = LIMITS.max_children
    wide = chain(per, chain(per))  # per x per nodes, each chain within the children limit
    error = refused(wide)
    assert error.limit == "max_nodes" and error.errors[0]["loc"].startswith("schedulers[")
    deep: dict[str, Any] = EXP
    for _ in range(LIMITS.max_depth):
        deep = {"type": "Warmup", "warmup_steps": 1, "schedule": deep}
    error = refused(deep)
    assert error.limit == "max_depth" and "deeper than 8 levels" in error.errors[0]["msg"]


def test_an_expression_list_is_costed_per_member() -> None:
    long = "min(1," + ",".join(["x"] * 240) + ")"
    error = refused({"type": "LambdaLR", "lr_lambda": ["x", long], "base_lr": [0.1, 0.1]})
    assert error.errors[0]["loc"] == "lr_lambda[1]"


def test_cost_grows_with_size_and_shape() -> None:
    small = spec_cost(parse_spec(chain(2)))
    big = spec_cost(parse_spec(chain(200)))
    assert big.nodes == 201 and big.max_children == 200 and big.widest == "schedulers"
    assert big.value_us > 50 * small.value_us / 2 and big.call_us > small.call_us
    seq = spec_cost(
        parse_spec(
            {"type": "SequentialLR", "schedulers": [EXP] * 200, "milestones": list(range(1, 200))}
        )
    )
    assert seq.value_us < big.value_us / 10  # each step goes to one child only
    assert (
        spec_cost(parse_spec({"type": "LambdaLR", "lr_lambda": "exp(step)"})).elementwise_ops == 1
    )


def test_a_preview_pays_the_one_off_work_a_run_window_does_not() -> None:
    term = "0.5 * (1 + cos(pi * step / 9e4)) * min(1, (step + 1) / DIV)"
    source = "+".join([term] * (LIMITS.max_expression_chars // (len(term) + 4)))
    children = [
        {"type": "LambdaLR", "lr_lambda": source.replace("DIV", str(500 + i))} for i in range(50)
    ]
    found = spec_cost(parse_spec({"type": "ChainedScheduler", "schedulers": children}))
    assert found.prefix_us > 0.5 * LIMITS.budget_us  # compiling 50 distinct sources
    window = admit(found, 4096, 1, field="count", cap=True)
    preview = allowed_steps(found, 1, fresh=True)
    assert preview < window
    assert found.request_us(window, 1) <= LIMITS.budget_us
    assert found.request_us(preview, 1, fresh=True) <= LIMITS.budget_us
    with pytest.raises(CostLimitError, match=f"at most {preview} steps"):
        admit(found, preview + 1, 1, fresh=True)


def test_too_many_expression_characters_in_all_are_refused() -> None:
    source = "+".join(["(step + 1) / 500"] * 29)  # 492 characters, few operations
    count = LIMITS.max_expression_chars_total // len(source) + 1
    error = refused(chain(count, {"type": "LambdaLR", "lr_lambda": source}))
    assert error.limit == "max_expression_chars_total"
    assert error.errors[0]["loc"] == f"schedulers[{count - 1}].lr_lambda"


def test_the_documented_limits_are_the_derived_ones() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "schedules.md"
    table = docs.read_text().split("## Cost and limits", 1)[1]
    for value in (LIMITS.max_children, LIMITS.max_nodes, LIMITS.max_expression_ops):
        assert f"| {value:,} |" in table
    assert f"| {LIMITS.max_expression_chars_total:,} |" in table
    assert f"at most {LIMITS.budget_us / 1000:.0f} ms of CPU" in table
