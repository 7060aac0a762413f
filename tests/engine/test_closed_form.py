"""Closed forms: a value at step 10^12 is right and costs what a value at step 10 costs."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pytest
from engine_support import as_lists

from lrhub_service.engine import MetricState, Segment, build_schedule, parse_spec
from lrhub_service.engine.specs.custom import MULTIPLICATIVE_MAX_STEP

BIG = 10**12
STATE = MetricState()


def sched_of(spec: dict[str, Any], base_lrs=(1.0,)):
    return build_schedule([Segment(0, parse_spec(spec))], list(base_lrs), [0.9] * len(base_lrs))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"type": "StepLR", "step_size": 10**11, "gamma": 0.5}, 0.5**10),
        ({"type": "MultiStepLR", "milestones": [5, BIG, BIG + 1]}, 0.01),
        ({"type": "ExponentialLR", "gamma": 1.0}, 1.0),
        ({"type": "ExponentialLR", "gamma": 0.5}, 0.0),
        ({"type": "LinearLR", "end_factor": 0.5}, 0.5),
        ({"type": "CosineAnnealingLR", "T_max": 100, "eta_min": 0.01}, 0.01),
        ({"type": "CosineAnnealingLR", "T_max": 3 * 10**11, "periodic": True}, 0.25),
        ({"type": "CosineAnnealingWarmRestarts", "T_0": 10**12}, 1.0),
        ({"type": "CosineAnnealingWarmRestarts", "T_0": 1, "T_mult": 2}, None),
        ({"type": "CyclicLR", "base_lr": 0.1, "max_lr": 1.0, "step_size_up": 10**11}, 0.1),
        ({"type": "CyclicLR", "max_lr": 2.0, "step_size_up": 3, "mode": "triangular2"}, 1.0),
        ({"type": "OneCycleLR", "max_lr": 1.0, "total_steps": 100}, 1.0 / 25 / 1e4),
        ({"type": "LambdaLR", "lr_lambda": "1 / sqrt(step + 1)"}, 1e-6),
        ({"type": "MultiplicativeLR", "lr_lambda": "0.999999999999"}, 0.999999999999**BIG),
    ],
)
def test_values_at_a_huge_step(spec: dict[str, Any], expected: float | None) -> None:
    value = sched_of(spec).values(BIG, STATE).lrs[0]
    if expected is None:  # 2^40 - 1 = 1099511627775 restarts: the cycle in progress has length 2^39
        t_cur = BIG - (2**39 - 1)
        expected = (1 + math.cos(math.pi * t_cur / 2**39)) / 2
    assert value == pytest.approx(expected, rel=1e-6, abs=1e-12)


def cost(sched, step: int, repeat: int = 300) -> float:
    at = np.array([step], dtype=np.int64)  # evaluate(): values() would read a cached block
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeat):
            sched.evaluate(at, STATE)
        best = min(best, time.perf_counter() - start)
    return best / repeat


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "CosineAnnealingWarmRestarts", "T_0": 1, "T_mult": 2},
        {"type": "MultiStepLR", "milestones": list(range(0, 10**6, 7))},
        {
            "type": "SequentialLR",
            "milestones": list(range(1, 200)),
            "schedulers": [{"type": "StepLR", "step_size": 3}] * 200,
        },
        {"type": "MultiplicativeLR", "lr_lambda": "1 - 1e-7 * (step % 3)"},
    ],
    ids=["restarts-log", "multistep-bisect", "sequential-bisect", "multiplicative-held"],
)
def test_cost_does_not_grow_with_the_step(spec: dict[str, Any]) -> None:
    sched = sched_of(spec)
    sched.values(BIG, STATE)  # warm any cache
    small, big = cost(sched, 10), cost(sched, BIG)
    assert big < 20 * small + 20e-6, (small, big)


def test_step_dependent_multiplicative_holds_after_its_limit() -> None:
    sched = sched_of({"type": "MultiplicativeLR", "lr_lambda": "1 - 1e-7 * (step % 3)"})
    at_limit = sched.values(MULTIPLICATIVE_MAX_STEP, STATE).lrs[0]
    assert sched.values(MULTIPLICATIVE_MAX_STEP + 1, STATE).lrs[0] == at_limit
    assert sched.values(BIG, STATE).lrs[0] == at_limit
    expected = math.exp(MULTIPLICATIVE_MAX_STEP // 3 * (math.log1p(-1e-7) + math.log1p(-2e-7)))
    assert at_limit == pytest.approx(expected, rel=1e-6)
    just_before = sched.values(1000, STATE).lrs[0]
    assert just_before == pytest.approx(math.prod(1 - 1e-7 * (j % 3) for j in range(1, 1001)))


def test_a_full_window_of_many_groups_is_fast() -> None:
    spec = {
        "type": "OneCycleLR",
        "max_lr": [0.1 * (g + 1) for g in range(10)],
        "total_steps": 10**6,
    }
    sched = sched_of(spec, [0.1] * 10)
    start = time.perf_counter()
    lrs, moms = as_lists(sched.window(10**5, 4096, STATE))
    elapsed = time.perf_counter() - start
    assert len(lrs) == 10 and len(lrs[0]) == 4096 and moms is not None
    assert elapsed < 1.0
