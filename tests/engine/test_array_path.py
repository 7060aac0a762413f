"""One evaluation path over arrays of steps: windows, single values and arbitrary step
arrays agree; expressions keep their scalar meaning at huge steps; failures name the step."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_expr import Tree, expressions

from lrhub_service.engine import MetricState, Segment, SpecError, build_schedule, parse_spec
from lrhub_service.engine.expr import ExpressionError, compile_expression
from lrhub_service.engine.specs.custom import MULTIPLICATIVE_MAX_STEP

STATE = MetricState()


def build(spec: dict[str, Any], base_lrs: tuple[float, ...] = (1.0,)):
    return build_schedule([Segment(0, parse_spec(spec))], list(base_lrs), [0.9] * len(base_lrs))


SPECS = [
    {"type": "OneCycleLR", "max_lr": [0.4, 0.2], "total_steps": 300, "three_phase": True},
    {"type": "CyclicLR", "base_lr": 0.1, "max_lr": 1.0, "step_size_up": 7, "mode": "exp_range",
     "gamma": 0.99},
    {"type": "CyclicLR", "base_lr": 0.1, "max_lr": 1.0, "step_size_up": 5,
     "scale_fn": "1 / (1 + x)", "scale_mode": "iterations"},
    {"type": "SequentialLR", "milestones": [10, 40],
     "schedulers": [{"type": "LinearLR", "start_factor": 0.1, "total_iters": 10},
                    {"type": "CosineAnnealingWarmRestarts", "T_0": 7, "T_mult": 2},
                    {"type": "LambdaLR", "lr_lambda": "0.9 ** (step // 3)"}]},
    {"type": "ChainedScheduler", "schedulers": [{"type": "ExponentialLR", "gamma": 0.99},
                                                {"type": "StepLR", "step_size": 9}]},
    {"type": "Warmup", "warmup_steps": 12, "shape": "cosine",
     "schedule": {"type": "SGDR", "T_0": 5, "T_mult": 1.5, "restart_decay": 0.7}},
    {"type": "MultiplicativeLR", "lr_lambda": "1 - 0.001 * (step % 5)"},
    {"type": "PerEpoch", "steps_per_epoch": 4,
     "schedule": {"type": "MultiStepLR", "milestones": [2, 5, 5]}},
    {"type": "timm", "scheduler": "TanhLRScheduler", "t_initial": 7.5, "cycle_mul": 1.5,
     "cycle_limit": 6, "warmup_t": 3, "noise_range_t": [2, 90], "noise_pct": 0.2},
    {"type": "transformers", "name": "cosine_warmup_with_min_lr", "num_warmup_steps": 9,
     "num_training_steps": 100, "scheduler_specific_kwargs": {"min_lr_rate": 0.1}},
    {"type": "WarmupStableDecay", "warmup_steps": 5, "stable_steps": 30, "decay_steps": 50,
     "stable_shape": "rsqrt", "stable_timescale": 5, "decay_shape": "exp", "min_lr": 0.01},
]  # fmt: skip


@pytest.mark.parametrize("spec", SPECS, ids=[s["type"] for s in SPECS])
def test_values_window_and_step_arrays_agree(spec: dict[str, Any]) -> None:
    sched = build(spec, (1.0, 0.5))
    lrs, moms = sched.window(0, 120, STATE)
    assert lrs.shape == (2, 120) and lrs.dtype == np.float64
    for step in (0, 1, 11, 40, 63, 64, 119):
        values = sched.values(step, STATE)
        assert values.lrs == tuple(lrs[:, step].tolist())
        assert (values.momentums is None) == (moms is None)
        if moms is not None:
            assert values.momentums == tuple(moms[:, step].tolist())
    shuffled = np.array([119, 3, 64, 3, 0, 77], dtype=np.int64)
    some, _ = sched.evaluate(shuffled, STATE)
    assert some.tolist() == lrs[:, shuffled].tolist()


def test_a_window_crossing_revisions_matches_single_values() -> None:
    segments = [
        Segment(0, parse_spec({"type": "StepLR", "step_size": 4})),
        Segment(9, parse_spec({"type": "CosineAnnealingLR", "T_max": 20}), 9, [0.5]),
        Segment(30, parse_spec({"type": "OneCycleLR", "max_lr": 1.0, "total_steps": 50}), 30),
    ]
    sched = build_schedule(segments, [1.0], [0.9])
    lrs, moms = sched.window(0, 90, STATE)
    assert moms is not None
    for step in range(0, 90, 7):
        assert sched.values(step, STATE) == (
            (lrs[0, step].item(),),
            (moms[0, step].item(),),
        )


@pytest.mark.parametrize("step", [10**9, 10**12, 3 * 10**15, 2**62])
def test_expressions_at_huge_steps_keep_their_float_meaning(step: int) -> None:
    cube = compile_expression("step ** 3", loc="lr_lambda")
    mixed = compile_expression("1 / (1 + step * step) + step % 7", loc="lr_lambda")
    steps = np.array([step, step + 1], dtype=np.int64)
    assert cube.evaluate(steps).tolist() == [float(s) ** 3 for s in steps.tolist()]
    expected = [1 / (1 + float(s) * float(s)) + float(s) % 7 for s in steps.tolist()]
    assert mixed.evaluate(steps).tolist() == expected
    sched = build({"type": "LambdaLR", "lr_lambda": "1 / (1 + step ** 0.5)"})
    assert sched.values(step, STATE).lrs[0] == 1 / (1 + float(step) ** 0.5)


def test_step_cubed_at_a_huge_step_is_not_int64_overflow() -> None:
    sched = build({"type": "LambdaLR", "lr_lambda": "step ** 3 / 1e18 / 1e18 / 1e4"})
    lrs, _ = sched.window(10**13, 3, STATE)
    assert lrs[0].tolist() == [float(s) ** 3 / 1e18 / 1e18 / 1e4 for s in range(10**13, 10**13 + 3)]
    assert (
        sched.values(2**62, STATE).lrs[0] == float(2**62) ** 3 / 1e18 / 1e18 / 1e4
    )  # ~1e16, no wrap
    with pytest.raises(SpecError) as info:  # float overflow, as the scalar code refused it
        build({"type": "LambdaLR", "lr_lambda": "step ** 40"}).values(10**9, STATE)
    assert info.value.step == 10**9  # type: ignore[attr-defined]
    assert "'**' overflows" in info.value.errors[0]["msg"]


@pytest.mark.parametrize("start", [0, 10**9, 10**12])
def test_a_division_by_zero_fails_exactly_that_step(start: int) -> None:
    bad = start + 7
    sched = build({"type": "LambdaLR", "lr_lambda": f"1 / (step - {bad}) ** 2 + 1"})
    assert sched.values(bad - 1, STATE).lrs[0] == 2.0
    assert sched.values(bad + 1, STATE).lrs[0] == 2.0
    with pytest.raises(SpecError) as info:
        sched.window(start, 20, STATE)
    assert info.value.step == bad  # type: ignore[attr-defined]
    assert f"step {bad}" in info.value.errors[0]["msg"]
    assert "division by zero" in info.value.errors[0]["msg"]
    assert info.value.errors[0]["loc"] == "lr_lambda"


def test_the_first_failing_step_wins_over_later_ones() -> None:
    sched = build({"type": "LambdaLR", "lr_lambda": "1 / (step - 30) + 1 / (step - 12) + 5"})
    with pytest.raises(SpecError) as info:
        sched.window(0, 40, STATE)
    assert info.value.step == 12  # type: ignore[attr-defined]


def test_a_branch_not_taken_does_not_fail() -> None:
    sched = build({"type": "LambdaLR", "lr_lambda": "1 if step == 3 else 1 / (step - 3) ** 2"})
    lrs, _ = sched.window(0, 6, STATE)
    assert lrs[0].tolist() == [1 / 9, 1 / 4, 1.0, 1.0, 1.0, 1 / 4]


def test_a_negative_lr_names_the_step_and_group() -> None:
    sched = build({"type": "LambdaLR", "lr_lambda": ["1", "1 - step / 10"]}, (1.0, 1.0))
    with pytest.raises(SpecError) as info:
        sched.window(5, 100, STATE)
    assert info.value.step == 11  # type: ignore[attr-defined]
    assert "group 1 at step 11" in info.value.errors[0]["msg"]


def test_a_nan_lr_is_refused_with_its_step() -> None:
    sched = build({"type": "LambdaLR", "lr_lambda": "sqrt(5 - step)"})
    with pytest.raises(SpecError) as info:
        sched.window(0, 10, STATE)
    assert info.value.step == 6  # type: ignore[attr-defined]
    assert "x = 6" in info.value.errors[0]["msg"]


def test_running_product_equals_the_step_by_step_product() -> None:
    sched = build({"type": "MultiplicativeLR", "lr_lambda": "1 - 1e-6 * (step % 11)"})
    lrs, _ = sched.window(70_000, 300, STATE)  # crosses a fill block of 65,536 steps
    value = 1.0
    products = {}
    for j in range(1, 70_300):
        value *= 1 - 1e-6 * (j % 11)
        products[j] = value
    assert lrs[0].tolist() == [products[s] for s in range(70_000, 70_300)]
    assert sched.values(MULTIPLICATIVE_MAX_STEP + 5, STATE) == sched.values(
        MULTIPLICATIVE_MAX_STEP, STATE
    )


def test_running_product_failure_and_zero() -> None:
    failing = build({"type": "MultiplicativeLR", "lr_lambda": "1 + 1 / (step - 900) / 1000"})
    expected = math.prod(1 + 1 / (j - 900) / 1000 for j in range(1, 900))
    assert failing.values(899, STATE).lrs[0] == pytest.approx(expected)
    with pytest.raises(SpecError) as info:
        failing.window(890, 20, STATE)
    assert info.value.step == 900  # type: ignore[attr-defined]
    zero = build({"type": "MultiplicativeLR", "lr_lambda": "(step - 5) / (step - 9)"})
    assert zero.values(5, STATE).lrs[0] == 0.0
    assert zero.window(0, 20, STATE)[0][0, 5:].tolist() == [0.0] * 15  # 1/0 at 9 never looked at


def test_one_step_reads_share_a_cached_block_per_state() -> None:
    sched = build({"type": "CosineAnnealingLR", "T_max": 1000})
    other = MetricState()  # an equal state, but another object: evaluated on its own
    first = sched.values(130, STATE)
    assert sched.values(130, other) == first
    for step in range(128, 192):
        assert sched.values(step, STATE).lrs == (sched.window(step, 1, STATE)[0][0, 0].item(),)
    for block in range(20):  # many blocks: the cache stays small
        sched.values(64 * block, STATE)
    assert len(sched._blocks) <= 8


@settings(max_examples=300, deadline=None)
@given(
    tree=expressions,
    xs=st.lists(st.floats(min_value=-1e4, max_value=1e4, allow_nan=False), min_size=1, max_size=8),
)
def test_an_array_evaluates_as_each_element_would_alone(tree: Tree, xs: list[float]) -> None:
    try:
        expression = compile_expression(tree.text, loc="lr_lambda")
    except ExpressionError:
        return  # refused at compile time: test_expr covers it
    values, failed = expression.attempt(np.array(xs))
    alone: list[float | None] = []
    for x in xs:
        try:
            alone.append(expression(x))
        except ExpressionError:
            alone.append(None)
    first_bad = next((i for i, v in enumerate(alone) if v is None), None)
    assert (failed[0] if failed else None) == first_bad
    for i, value in enumerate(alone):
        if value is not None:
            assert values[i] == value
