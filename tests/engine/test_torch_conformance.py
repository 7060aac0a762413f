"""Inside each schedule's horizon, our values equal torch 2.13's step by step."""

from __future__ import annotations

from typing import Any

import pytest
from engine_support import as_lists
from torch_reference import assert_close, torch_values

from lrhub_service.engine import Segment, build_schedule, parse_spec

LIN = {"type": "LinearLR", "start_factor": 0.1, "total_iters": 4}
COS = {"type": "CosineAnnealingLR", "T_max": 12, "eta_min": 0.001}

# (id, spec, steps) — steps stay inside the horizon (cosine: T_max; one-cycle: total_steps)
GRID: list[tuple[str, dict[str, Any], int]] = [
    ("step", {"type": "StepLR", "step_size": 3, "gamma": 0.5}, 40),
    ("step-default", {"type": "StepLR", "step_size": 7}, 40),
    ("multistep", {"type": "MultiStepLR", "milestones": [5, 10, 20]}, 40),
    ("multistep-unsorted", {"type": "MultiStepLR", "milestones": [20, 5, 10], "gamma": 0.3}, 40),
    ("multistep-repeat", {"type": "MultiStepLR", "milestones": [3, 8, 8, 15], "gamma": 0.5}, 40),
    ("multistep-zero", {"type": "MultiStepLR", "milestones": [0, 0, 6], "gamma": 0.5}, 20),
    ("constant", {"type": "ConstantLR", "factor": 0.25, "total_iters": 6}, 20),
    ("constant-default", {"type": "ConstantLR"}, 20),
    ("linear", {"type": "LinearLR", "start_factor": 0.2, "end_factor": 0.9, "total_iters": 9}, 30),
    ("linear-down", {"type": "LinearLR", "start_factor": 1.0, "end_factor": 0.0}, 30),
    ("exponential", {"type": "ExponentialLR", "gamma": 0.93}, 120),
    ("polynomial", {"type": "PolynomialLR", "total_iters": 15, "power": 2.0}, 40),
    ("polynomial-half", {"type": "PolynomialLR", "total_iters": 9, "power": 0.5}, 20),
    ("cosine", {"type": "CosineAnnealingLR", "T_max": 30, "eta_min": 0.002}, 31),
    ("cosine-zero", {"type": "CosineAnnealingLR", "T_max": 7}, 8),
    ("cosine-periodic", {"type": "CosineAnnealingLR", "T_max": 10, "periodic": True}, 45),
    ("restarts", {"type": "CosineAnnealingWarmRestarts", "T_0": 5}, 40),
    ("restarts-tmult2", {"type": "CosineAnnealingWarmRestarts", "T_0": 3, "T_mult": 2}, 100),
    (
        "restarts-tmult3-eta",
        {"type": "CosineAnnealingWarmRestarts", "T_0": 2, "T_mult": 3, "eta_min": 0.01},
        100,
    ),
    ("lambda", {"type": "LambdaLR", "lr_lambda": "0.95 ** epoch"}, 50),
    ("lambda-step", {"type": "LambdaLR", "lr_lambda": "1 / (1 + step // 4)"}, 50),
    (
        "lambda-cond",
        {"type": "LambdaLR", "lr_lambda": "step / 5 if step < 5 else 0.5 ** (step - 5)"},
        40,
    ),
    ("multiplicative", {"type": "MultiplicativeLR", "lr_lambda": "0.97"}, 60),
    ("multiplicative-step", {"type": "MultiplicativeLR", "lr_lambda": "1 - 0.01 * (step % 5)"}, 80),
    ("cyclic", {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4}, 40),
    (
        "cyclic-asym",
        {
            "type": "CyclicLR",
            "base_lr": 0.01,
            "max_lr": 0.1,
            "step_size_up": 3,
            "step_size_down": 7,
        },
        50,
    ),
    (
        "cyclic-tri2",
        {
            "type": "CyclicLR",
            "base_lr": 0.001,
            "max_lr": 0.1,
            "step_size_up": 3,
            "mode": "triangular2",
        },
        60,
    ),
    (
        "cyclic-exprange",
        {
            "type": "CyclicLR",
            "base_lr": 0.001,
            "max_lr": 0.1,
            "step_size_up": 5,
            "mode": "exp_range",
            "gamma": 0.97,
        },
        60,
    ),
    (
        "cyclic-scalefn-cycle",
        {
            "type": "CyclicLR",
            "base_lr": 0.01,
            "max_lr": 0.2,
            "step_size_up": 3,
            "scale_fn": "1 / x",
            "scale_mode": "cycle",
        },
        40,
    ),
    (
        "cyclic-scalefn-iter",
        {
            "type": "CyclicLR",
            "base_lr": 0.01,
            "max_lr": 0.2,
            "step_size_up": 3,
            "scale_fn": "0.99 ** x",
            "scale_mode": "iterations",
        },
        40,
    ),
    (
        "cyclic-nomomentum",
        {
            "type": "CyclicLR",
            "base_lr": 0.01,
            "max_lr": 0.1,
            "step_size_up": 4,
            "cycle_momentum": False,
        },
        30,
    ),
    ("onecycle", {"type": "OneCycleLR", "max_lr": 0.5, "total_steps": 50}, 50),
    (
        "onecycle-linear",
        {"type": "OneCycleLR", "max_lr": 0.3, "total_steps": 40, "anneal_strategy": "linear"},
        40,
    ),
    (
        "onecycle-three",
        {"type": "OneCycleLR", "max_lr": 0.4, "total_steps": 60, "three_phase": True},
        60,
    ),
    (
        "onecycle-three-linear",
        {
            "type": "OneCycleLR",
            "max_lr": 0.4,
            "total_steps": 45,
            "three_phase": True,
            "anneal_strategy": "linear",
            "pct_start": 0.25,
        },
        45,
    ),
    (
        "onecycle-epochs",
        {
            "type": "OneCycleLR",
            "max_lr": 0.2,
            "epochs": 3,
            "steps_per_epoch": 7,
            "div_factor": 10.0,
        },
        21,
    ),
    (
        "onecycle-momentum",
        {
            "type": "OneCycleLR",
            "max_lr": 1.0,
            "total_steps": 30,
            "base_momentum": 0.8,
            "max_momentum": 0.99,
            "pct_start": 0.4,
            "final_div_factor": 100.0,
        },
        30,
    ),
    ("sequential", {"type": "SequentialLR", "schedulers": [LIN, COS], "milestones": [4]}, 17),
    (
        "sequential-three",
        {
            "type": "SequentialLR",
            "schedulers": [
                {"type": "ConstantLR", "factor": 0.5, "total_iters": 10},
                {"type": "ExponentialLR", "gamma": 0.9},
                {"type": "StepLR", "step_size": 2, "gamma": 0.5},
            ],
            "milestones": [3, 9],
        },
        25,
    ),
    (
        "sequential-milestone0",
        {
            "type": "SequentialLR",
            "schedulers": [
                {"type": "ConstantLR", "factor": 0.5},
                LIN,
                {"type": "PolynomialLR", "total_iters": 10},
            ],
            "milestones": [0, 6],
        },
        25,
    ),
    (
        "chained",
        {
            "type": "ChainedScheduler",
            "schedulers": [
                {"type": "ConstantLR", "factor": 0.1, "total_iters": 2},
                {"type": "ExponentialLR", "gamma": 0.9},
            ],
        },
        30,
    ),
    (
        "chained-three",
        {
            "type": "ChainedScheduler",
            "schedulers": [
                {"type": "StepLR", "step_size": 4, "gamma": 0.5},
                LIN,
                {"type": "MultiStepLR", "milestones": [6, 11], "gamma": 0.3},
            ],
        },
        30,
    ),
    (
        "chained-poly-cos",
        {
            "type": "ChainedScheduler",
            "schedulers": [
                {"type": "PolynomialLR", "total_iters": 20, "power": 1.5},
                {"type": "CosineAnnealingLR", "T_max": 20},
                {"type": "MultiplicativeLR", "lr_lambda": "0.99"},
            ],
        },
        20,
    ),
]

GROUPS = {"one": [0.1], "two": [0.1, 0.03]}


def ours(spec: dict[str, Any], base_lrs: list[float], steps: int, base_momentums=None):
    sched = build_schedule([Segment(0, parse_spec(spec))], base_lrs, base_momentums)
    return sched, as_lists(sched.window(0, steps, sched.initial_state()))


@pytest.mark.parametrize("groups", list(GROUPS))
@pytest.mark.parametrize(
    ("spec", "steps"), [(s, n) for _, s, n in GRID], ids=[i for i, _, _ in GRID]
)
def test_lrs_and_momentums_match_torch(spec: dict[str, Any], steps: int, groups: str) -> None:
    base_lrs = GROUPS[groups]
    sched, (lrs, moms) = ours(spec, base_lrs, steps, [0.9] * len(base_lrs))
    torch_lrs, torch_moms = torch_values(spec, base_lrs, steps)
    assert_close(lrs, torch_lrs)
    if sched.has_momentum:
        assert moms is not None
        assert_close(moms, torch_moms, "momentum")
    else:
        assert moms is None


@pytest.mark.parametrize(
    "spec",
    [
        {
            "type": "CyclicLR",
            "max_lr": 0.2,
            "step_size_up": 3,
            "base_momentum": 0.7,
            "max_momentum": 0.95,
        },
        {"type": "OneCycleLR", "max_lr": 0.3, "total_steps": 25, "three_phase": True},
    ],
)
def test_adam_betas_follow_the_cycled_momentum(spec: dict[str, Any]) -> None:
    base_lrs = [0.01, 0.02]
    _, (lrs, moms) = ours(spec, base_lrs, 25, [0.9, 0.9])
    torch_lrs, torch_betas = torch_values(spec, base_lrs, 25, kind="adam")
    assert_close(lrs, torch_lrs)
    assert moms is not None
    assert_close(moms, torch_betas, "beta1")


PER_GROUP = [
    {
        "type": "CyclicLR",
        "base_lr": [0.01, 0.001],
        "max_lr": [0.1, 0.05],
        "step_size_up": 3,
        "base_momentum": [0.8, 0.7],
        "max_momentum": [0.9, 0.95],
    },
    {
        "type": "OneCycleLR",
        "max_lr": [0.5, 0.05],
        "total_steps": 30,
        "base_momentum": [0.85, 0.6],
        "max_momentum": [0.95, 0.9],
    },
    {"type": "LambdaLR", "lr_lambda": ["0.9 ** step", "1 / (step + 1)"]},
    {"type": "MultiplicativeLR", "lr_lambda": ["0.9", "0.99 if step % 2 else 1"]},
    {"type": "StepLR", "step_size": 2, "base_lr": [0.5, 0.25]},
]


@pytest.mark.parametrize("spec", PER_GROUP, ids=[s["type"] for s in PER_GROUP])
def test_per_group_lists_match_torch(spec: dict[str, Any]) -> None:
    base_lrs = spec["base_lr"] if isinstance(spec.get("base_lr"), list) else [0.1, 0.2]
    sched, (lrs, moms) = ours(spec, [0.1, 0.2], 30, [0.9, 0.9])
    torch_lrs, torch_moms = torch_values(spec, base_lrs, 30)
    assert_close(lrs, torch_lrs)
    if sched.has_momentum:
        assert_close(moms, torch_moms, "momentum")  # type: ignore[arg-type]
