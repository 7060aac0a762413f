"""Every invalid spec is refused with the field path and the reason."""

from __future__ import annotations

import math
from typing import Any

import pytest
from engine_support import as_lists

from lrhub_service.engine import (
    Segment,
    SpecError,
    build_schedule,
    canonical_json,
    parse_spec,
    type_names,
)


def errors_of(data: Any) -> list[dict[str, str]]:
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    assert isinstance(info.value, ValueError)
    return info.value.errors


COS = {"type": "CosineAnnealingLR", "T_max": 10}

REFUSED = [
    ({"type": "StepLR", "step_size": 0}, "step_size", "must be > 0"),
    ({"type": "StepLR"}, "step_size", "field required"),
    ({"type": "StepLR", "step_size": 2.5}, "step_size", "must be an integer"),
    ({"type": "StepLR", "step_size": 2, "gamma": -0.1}, "gamma", "must be >= 0"),
    ({"type": "StepLR", "step_size": 2, "gamma": math.nan}, "gamma", "finite"),
    ({"type": "StepLR", "step_size": 2, "base_lr": math.inf}, "base_lr", "finite"),
    ({"type": "StepLR", "step_size": 2, "base_lr": -1.0}, "base_lr", "must be >= 0"),
    ({"type": "StepLR", "step_size": 2, "base_lr": [0.1, -1]}, "base_lr[1]", "must be >= 0"),
    ({"type": "StepLR", "step_size": 2, "base_lr": []}, "base_lr", "at least 1"),
    ({"type": "StepLR", "step_size": 2, "base_lr": "0.1x"}, "base_lr", "must be a number"),
    (
        {"type": "StepLR", "step_size": 2, "stepsize": 3},
        "stepsize",
        "StepLR takes: base_lr, step_size, gamma",
    ),
    ({"type": "MultiStepLR", "milestones": [3, -1]}, "milestones[1]", "must be >= 0"),
    ({"type": "ConstantLR", "factor": 1.5}, "factor", "must be <= 1"),
    ({"type": "LinearLR", "start_factor": 0}, "start_factor", "must be > 0"),
    ({"type": "LinearLR", "end_factor": 1.2}, "end_factor", "must be <= 1"),
    ({"type": "LinearLR", "total_iters": -1}, "total_iters", "must be >= 0"),
    ({"type": "PolynomialLR", "total_iters": 0}, "total_iters", "must be > 0"),
    ({"type": "CosineAnnealingLR", "T_max": 0}, "T_max", "must be > 0"),
    ({"type": "CosineAnnealingLR", "T_max": 5, "eta_min": -1}, "eta_min", "must be >= 0"),
    ({"type": "CosineAnnealingWarmRestarts", "T_0": 0}, "T_0", "must be > 0"),
    ({"type": "CosineAnnealingWarmRestarts", "T_0": 3, "T_mult": 0}, "T_mult", "must be >= 1"),
    ({"type": "CosineAnnealingWarmRestarts", "T_0": 3, "T_mult": 1.5}, "T_mult", "integer"),
    ({"type": "CyclicLR", "max_lr": 0.1, "step_size_up": 0}, "step_size_up", "must be > 0"),
    ({"type": "CyclicLR", "max_lr": 0.1, "mode": "sine"}, "mode", "triangular"),
    ({"type": "CyclicLR", "max_lr": 0.1, "scale_fn": "x +"}, "scale_fn", "column"),
    ({"type": "OneCycleLR", "max_lr": 0.1}, "total_steps", "epochs and steps_per_epoch"),
    (
        {"type": "OneCycleLR", "max_lr": 0.1, "total_steps": 10, "pct_start": 1.5},
        "pct_start",
        "<= 1",
    ),
    (
        {"type": "OneCycleLR", "max_lr": 0.1, "total_steps": 10, "base_lr": 0.1},
        "base_lr",
        "not used",
    ),
    (
        {"type": "OneCycleLR", "max_lr": 0.1, "total_steps": 10, "anneal_strategy": "x"},
        "anneal_strategy",
        "cos",
    ),
    ({"type": "ReduceLROnPlateau", "factor": 1.0}, "factor", "must be < 1"),
    ({"type": "ReduceLROnPlateau", "mode": "up"}, "mode", "min"),
    ({"type": "ReduceLROnPlateau", "threshold_mode": "x"}, "threshold_mode", "rel"),
    ({"type": "ReduceLROnPlateau", "min_lr": [0.1, math.nan]}, "min_lr[1]", "finite"),
    ({"type": "LambdaLR", "lr_lambda": "import os"}, "lr_lambda", ""),
    ({"type": "LambdaLR", "lr_lambda": ["step", "step +* 2"]}, "lr_lambda[1]", "column"),
    (
        {"type": "SequentialLR", "schedulers": [COS, {**COS, "T_max": 0}], "milestones": [3]},
        "schedulers[1].T_max",
        "must be > 0",
    ),
    (
        {"type": "SequentialLR", "schedulers": [COS, COS], "milestones": []},
        "milestones",
        "expected 1",
    ),
    (
        {"type": "SequentialLR", "schedulers": [COS, COS, COS], "milestones": [5, 2]},
        "milestones[1]",
        "increasing",
    ),
    ({"type": "SequentialLR", "schedulers": [], "milestones": []}, "schedulers", "at least 1"),
    (
        {"type": "ChainedScheduler", "schedulers": [COS, {"type": "Nope"}]},
        "schedulers[1].type",
        "StepLR",
    ),
    ({"type": "Zigzag"}, "type", "unknown type 'Zigzag'; valid types: LambdaLR"),
    ({"T_max": 3}, "type", 'missing "type"'),
    ([1, 2], "", "object"),
    ("StepLR", "", "object"),
]


@pytest.mark.parametrize(("data", "loc", "msg"), REFUSED)
def test_invalid_specs_are_refused_with_path_and_reason(data: Any, loc: str, msg: str) -> None:
    errors = errors_of(data)
    assert any(e["loc"] == loc and msg in e["msg"] for e in errors), errors


def test_every_torch_type_is_registered() -> None:
    torch_types = {
        "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
        "ExponentialLR", "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
        "CyclicLR", "OneCycleLR", "ReduceLROnPlateau", "SequentialLR", "ChainedScheduler",
    }  # fmt: skip
    assert torch_types <= set(type_names())


def test_all_errors_are_reported_at_once() -> None:
    errors = errors_of({"type": "StepLR", "step_size": -1, "gamma": -1, "extra": 1})
    assert {e["loc"] for e in errors} == {"step_size", "gamma", "extra"}


def nested(depth: int) -> dict[str, Any]:
    spec: dict[str, Any] = COS
    for _ in range(depth - 1):
        spec = {"type": "ChainedScheduler", "schedulers": [spec]}
    return spec


def test_nesting_is_limited_to_eight_levels() -> None:
    parse_spec(nested(8))
    errors = errors_of(nested(9))
    assert errors[0]["loc"] == "schedulers[0]" * 1 + ".schedulers[0]" * 7
    assert "deeper than 8" in errors[0]["msg"]
    assert "deeper" in errors_of(nested(5000))[0]["msg"]  # no recursion error


def test_torch_construction_errors_become_validation_errors() -> None:
    import torch
    from torch_reference import make_optimizer, make_scheduler

    for data in [{"type": "ConstantLR", "factor": 1.5}, {"type": "LinearLR", "start_factor": 0}]:
        with pytest.raises(ValueError):
            make_scheduler(data, make_optimizer([0.1]))
        assert errors_of(data)
    assert torch.__version__


@pytest.mark.parametrize(
    ("spec", "base_lrs", "loc", "msg"),
    [
        ({"type": "StepLR", "step_size": 1}, None, "base_lr", "base_lr missing"),
        (
            {"type": "LambdaLR", "lr_lambda": ["1", "2"], "base_lr": 0.1},
            [0.1],
            "lr_lambda",
            "expected 1",
        ),
        ({"type": "ReduceLROnPlateau", "min_lr": [0, 0]}, [0.1], "min_lr", "expected 1"),
        ({"type": "CyclicLR", "max_lr": [0.1, 0.2, 0.3]}, [0.1, 0.2], "max_lr", "expected 2"),
        ({"type": "StepLR", "step_size": 1, "base_lr": [1, 2]}, [0.1], "base_lr", "expected 1"),
        (
            {
                "type": "SequentialLR",
                "milestones": [2],
                "schedulers": [COS, {"type": "LambdaLR", "lr_lambda": "log(step - 1)"}],
            },
            [0.1],
            "schedulers[1].lr_lambda",
            "domain",
        ),
        (
            {"type": "OneCycleLR", "max_lr": 0.1, "epochs": 3},
            None,
            "steps_per_epoch",
            "give total_steps",
        ),
    ],
)
def test_build_refuses_what_only_the_groups_reveal(
    spec: dict[str, Any], base_lrs: list[float] | None, loc: str, msg: str
) -> None:
    with pytest.raises(SpecError) as info:
        build_schedule([Segment(0, parse_spec(spec))], base_lrs)
    assert any(e["loc"] == loc and msg in e["msg"] for e in info.value.errors), info.value.errors


def test_negative_or_non_finite_values_at_runtime_are_refused() -> None:
    spec = parse_spec({"type": "LambdaLR", "lr_lambda": "1 - step / 10", "base_lr": 1.0})
    sched = build_schedule([Segment(0, spec)])
    state = sched.initial_state()
    assert sched.values(10, state).lrs == (0.0,)
    with pytest.raises(SpecError, match="step 11"):
        sched.values(11, state)
    with pytest.raises(SpecError, match="step 11"):
        as_lists(sched.window(5, 10, state))
    grow = build_schedule([Segment(0, parse_spec({"type": "ExponentialLR", "gamma": 2.0}))], [1.0])
    with pytest.raises(SpecError, match="inf"):
        grow.values(10**9, state)


def test_canonical_json_fills_defaults_and_is_stable() -> None:
    a = parse_spec({"type": "StepLR", "step_size": 3})
    b = parse_spec({"gamma": 0.1, "step_size": 3, "type": "StepLR"})
    assert canonical_json(a) == canonical_json(b)
    assert canonical_json(a) == {"type": "StepLR", "step_size": 3, "gamma": 0.1, "base_lr": None}
    assert parse_spec(canonical_json(a)) == a
    assert canonical_json(parse_spec(canonical_json(parse_spec(nested(3))))) == canonical_json(
        parse_spec(nested(3))
    )


def test_the_engine_imports_no_web_database_or_torch_module() -> None:
    import subprocess
    import sys

    code = (
        "import sys, lrhub_service.engine as e; e.parse_spec({'type': 'StepLR', 'step_size': 1});"
        "bad = [m for m in ('torch', 'fastapi', 'sqlalchemy', 'starlette') if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_an_expression_failing_at_some_step_is_a_spec_error_naming_the_field() -> None:
    spec = parse_spec({"type": "LambdaLR", "lr_lambda": "sqrt(10 - step)", "base_lr": 1.0})
    sched = build_schedule([Segment(0, spec)])
    state = sched.initial_state()
    assert sched.values(10, state).lrs == (0.0,)
    for call in (lambda: sched.values(11, state), lambda: as_lists(sched.window(0, 20, state))):
        with pytest.raises(SpecError) as info:
            call()
        assert info.value.errors[0]["loc"] == "lr_lambda"
        assert "x = 11" in info.value.errors[0]["msg"]
