"""Beyond-torch shapes: exact formulas, joins between phases, bounds, torch where it overlaps."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
import torch
from engine_support import as_lists
from hypothesis import given, settings
from hypothesis import strategies as st

from lrhub_service.engine import Segment, build_schedule, parse_spec
from lrhub_service.engine.beyond.restarts import cycle_start, restart_cycle


def curve(spec: dict[str, Any], steps: int, **options: Any) -> list[float]:
    schedule = build_schedule([Segment(0, parse_spec(spec))], **options)
    lrs, _ = as_lists(schedule.window(0, steps, schedule.initial_state()))
    return lrs[0]


def value(spec: dict[str, Any], step: int, **options: Any) -> float:
    schedule = build_schedule([Segment(0, parse_spec(spec))], **options)
    return schedule.values(step, schedule.initial_state()).lrs[0]


def torch_lrs(make: Any, steps: int, base: float = 0.1) -> list[float]:
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base, momentum=0.9)
    scheduler = make(optimizer)
    out = []
    for _ in range(steps):
        out.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return out


COSINE = {"type": "CosineAnnealingLR", "T_max": 50, "eta_min": 0.001}


# --- Warmup --------------------------------------------------------------------------


def test_linear_warmup_then_cosine_equals_torch_sequential() -> None:
    spec = {"type": "Warmup", "schedule": COSINE, "warmup_steps": 10, "start_factor": 0.1}
    ours = curve({**spec, "base_lr": 0.1}, 80)

    def make(opt: torch.optim.Optimizer) -> Any:
        warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=10)
        cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=50, eta_min=0.001)
        return torch.optim.lr_scheduler.SequentialLR(opt, [warm, cos], milestones=[10])

    theirs = torch_lrs(make, 60)
    assert ours[:60] == pytest.approx(theirs, rel=1e-12)
    assert ours[60:] == [0.001] * 20  # held at eta_min after T_max (not torch's rise)


@pytest.mark.parametrize("shape", ["linear", "cosine", "exponential"])
def test_warmup_formulas(shape: str) -> None:
    spec = {"type": "Warmup", "schedule": {"type": "ConstantLR", "factor": 1.0}, "warmup_steps": 8}
    values = curve({**spec, "shape": shape, "start_factor": 0.05, "base_lr": 2.0}, 12)
    for k in range(8):
        t = k / 8
        expected = {
            "linear": 0.1 + (2.0 - 0.1) * t,
            "cosine": 0.1 + (2.0 - 0.1) * (1 - math.cos(math.pi * t)) / 2,
            "exponential": 0.1 * (2.0 / 0.1) ** t,
        }[shape]
        assert values[k] == pytest.approx(expected, rel=1e-12)
    assert values[8:] == [2.0] * 4


def test_warmup_start_lr_per_group_and_shift_false() -> None:
    spec = {
        "type": "Warmup",
        "schedule": {"type": "ExponentialLR", "gamma": 0.9},
        "warmup_steps": 4,
        "start_lr": [0.0, 0.5],
        "shift": False,
        "base_lr": [1.0, 2.0],
    }
    schedule = build_schedule([Segment(0, parse_spec(spec))])
    lrs, _ = as_lists(schedule.window(0, 6, schedule.initial_state()))
    for k in range(4):
        assert lrs[0][k] == pytest.approx(0.9**k * k / 4, rel=1e-12)
        assert lrs[1][k] == pytest.approx(0.5 + (2 * 0.9**k - 0.5) * k / 4, rel=1e-12)
    assert lrs[0][4:] == pytest.approx([0.9**4, 0.9**5])  # the wrapped clock never paused


def test_warmup_defaults_and_zero_steps() -> None:
    assert curve({"type": "Warmup", "schedule": COSINE, "warmup_steps": 4, "base_lr": 1.0}, 1) == [
        0
    ]
    exponential = {"type": "Warmup", "schedule": COSINE, "warmup_steps": 4, "shape": "exponential"}
    assert curve({**exponential, "base_lr": 1.0}, 1) == [pytest.approx(0.01)]
    plain = curve({**COSINE, "base_lr": 0.1}, 30)
    assert (
        curve({"type": "Warmup", "schedule": COSINE, "warmup_steps": 0, "base_lr": 0.1}, 30)
        == plain
    )


@settings(max_examples=60, deadline=None)
@given(
    shape=st.sampled_from(["linear", "cosine", "exponential"]),
    warmup=st.integers(1, 400),
    start_factor=st.floats(0.001, 1.0),
    shift=st.booleans(),
)
def test_warmup_joins_without_a_jump(
    shape: str, warmup: int, start_factor: float, shift: bool
) -> None:
    spec = {
        "type": "Warmup",
        "schedule": {"type": "CosineAnnealingLR", "T_max": 1000},
        "warmup_steps": warmup,
        "shape": shape,
        "start_factor": start_factor,
        "shift": shift,
        "base_lr": 1.0,
    }
    values = curve(spec, warmup + 2)
    assert all(0 <= v <= 1.0 for v in values)
    jump = abs(values[warmup] - values[warmup - 1])
    ramp_step = (1 - start_factor) / warmup
    if shape == "exponential":
        ramp_step = 1 - start_factor ** (1 / warmup)
    cosine_slope = math.pi / 2 / 1000
    assert jump <= ramp_step * 1.0000001 + cosine_slope  # one ramp step plus the cosine's slope
    if shift:  # a ramp towards a fixed target only rises
        assert all(b >= a - 1e-12 for a, b in itertools.pairwise(values[: warmup + 1]))


# --- SGDR ----------------------------------------------------------------------------


@pytest.mark.parametrize(("t_0", "t_mult"), [(5, 1), (3, 2), (2, 3), (7, 2)])
def test_sgdr_with_integer_t_mult_equals_torch(t_0: int, t_mult: int) -> None:
    spec = {"type": "SGDR", "T_0": t_0, "T_mult": t_mult, "eta_min": 0.002, "base_lr": 0.1}

    def make(opt: torch.optim.Optimizer) -> Any:
        return torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, t_0, t_mult, eta_min=0.002)

    assert curve(spec, 400) == pytest.approx(torch_lrs(make, 400), rel=1e-12)


def test_sgdr_float_t_mult_and_restart_decay() -> None:
    spec = {"type": "SGDR", "T_0": 10, "T_mult": 1.5, "restart_decay": 0.8, "base_lr": 1.0}
    starts = [0.0, 10.0, 25.0, 47.5, 81.25]
    for i, start in enumerate(starts[:-1]):
        length = 10 * 1.5**i
        for step in range(math.ceil(start), math.ceil(starts[i + 1])):
            t = (step - start) / length
            assert value(spec, step) == pytest.approx(0.8**i * (1 + math.cos(math.pi * t)) / 2)
    assert value(spec, 25) == pytest.approx(0.64)  # a restart peaks at base * decay**2


def test_sgdr_peak_never_below_eta_min() -> None:
    spec = {"type": "SGDR", "T_0": 2, "restart_decay": 0.1, "eta_min": 0.05, "base_lr": 1.0}
    assert min(curve(spec, 40)) >= 0.05
    assert value(spec, 10**12) == pytest.approx(0.05)


@settings(max_examples=300, deadline=None)
@given(
    t_0=st.integers(1, 1000),
    t_mult=st.one_of(st.integers(1, 5).map(float), st.floats(1.0, 4.0)),
    step=st.one_of(st.integers(0, 10**6), st.integers(0, 10**15)),
)
def test_restart_cycle_is_exact(t_0: int, t_mult: float, step: int) -> None:
    index, t_cur, t_i = restart_cycle(step, t_0, t_mult)
    assert cycle_start(index, t_0, t_mult) <= step < cycle_start(index + 1, t_0, t_mult)
    assert 0 <= t_cur < t_i * (1 + 1e-9)


def test_sgdr_boundaries_open_the_new_cycle() -> None:
    for step in (0, 3, 9, 21, 45, 93):  # T_0=3, T_mult=2: cycles start at 3 * (2**i - 1)
        index, t_cur, _ = restart_cycle(step, 3, 2.0)
        assert t_cur == 0 and cycle_start(index, 3, 2.0) == step
    assert restart_cycle(3 * (2**50 - 1), 3, 2.0)[:2] == (50, 0.0)


# --- WarmupStableDecay, InverseSqrt ---------------------------------------------------


@pytest.mark.parametrize("decay_shape", ["linear", "cosine", "sqrt"])
def test_warmup_stable_decay(decay_shape: str) -> None:
    spec = {
        "type": "WarmupStableDecay",
        "warmup_steps": 10,
        "stable_steps": 20,
        "decay_steps": 40,
        "decay_shape": decay_shape,
        "min_lr_ratio": 0.1,
        "base_lr": 0.5,
    }
    values = curve(spec, 80)
    assert values[:10] == pytest.approx([0.5 * k / 10 for k in range(10)])
    assert values[10:30] == [0.5] * 20
    decay = {
        "linear": lambda p: 1 - p,
        "cosine": lambda p: (1 + math.cos(math.pi * p)) / 2,
        "sqrt": lambda p: 1 - math.sqrt(p),
    }[decay_shape]
    for k in range(30, 70):
        assert values[k] == pytest.approx(0.5 * (0.1 + 0.9 * decay((k - 30) / 40)), rel=1e-12)
    assert values[70:] == [pytest.approx(0.05)] * 10
    first_decay_step = 0.5 * 0.9 * (1 - decay(1 / 40))  # 1 - sqrt is steepest at its start
    biggest = max(0.5 / 10, first_decay_step) + 1e-12
    assert max(abs(b - a) for a, b in itertools.pairwise(values)) <= biggest


def test_inverse_sqrt_as_transformers() -> None:
    spec = {"type": "InverseSqrt", "warmup_steps": 100, "base_lr": 1.0}
    values = curve(spec, 1000)
    assert values[:100] == pytest.approx([k / 100 for k in range(100)])
    assert values[100] == 1.0
    for k in (100, 400, 999):
        assert values[k] == pytest.approx(1 / math.sqrt(k / 100))
    no_warmup = {"type": "InverseSqrt", "base_lr": 1.0}
    assert value(no_warmup, 30_000) == pytest.approx(1 / math.sqrt(40_000 / 10_000))
    timescale = {"type": "InverseSqrt", "warmup_steps": 10, "timescale": 40, "base_lr": 1.0}
    assert value(timescale, 10) == 1.0 and value(timescale, 130) == pytest.approx(0.5)


# --- BatchSizeScaling, PerEpoch ------------------------------------------------------


def test_batch_size_scaling_rules_cap_and_warmup() -> None:
    base = {"type": "BatchSizeScaling", "reference_batch_size": 256, "reference_lr": 0.1}
    assert curve({**base, "batch_size": 512}, 3) == [0.2] * 3
    assert curve({**base, "batch_size": 1024, "rule": "sqrt"}, 1) == [0.2]
    assert curve({**base, "batch_size": 8192, "max_lr": 1.0, "warmup_threshold": 64}, 1) == [1.0]
    goyal = curve({**base, "batch_size": 8192, "auto_warmup_steps": 5}, 7)
    assert goyal == pytest.approx([0.1 + (3.2 - 0.1) * k / 5 for k in range(5)] + [3.2, 3.2])


def test_batch_size_scaling_wraps_a_schedule_and_warns() -> None:
    spec = {
        "type": "BatchSizeScaling",
        "reference_batch_size": 256,
        "batch_size": 2048,
        "schedule": {"type": "StepLR", "step_size": 3, "gamma": 0.5},
        "base_lr": 0.1,
    }
    assert curve(spec, 7) == pytest.approx([0.8] * 3 + [0.4] * 3 + [0.2])
    warnings = parse_spec(spec).warnings
    assert len(warnings) == 1 and "8x" in warnings[0] and "auto_warmup_steps" in warnings[0]
    assert parse_spec({**spec, "auto_warmup_steps": 10}).warnings == []
    huge = parse_spec({**spec, "batch_size": 65536, "auto_warmup_steps": 10}).warnings
    assert len(huge) == 1 and "breaks down" in huge[0]
    assert parse_spec({**spec, "warnings": ["mine"]}).warnings == warnings


def test_per_epoch_steps_an_epoch_spec_per_batch() -> None:
    step_decay = {"type": "StepLR", "step_size": 30, "gamma": 0.1}
    spec = {"type": "PerEpoch", "schedule": step_decay, "base_lr": 0.1}
    values = curve(spec, 30 * 100 * 3, steps_per_epoch=100)
    assert values[2999] == pytest.approx(0.1) and values[3000] == pytest.approx(0.01)
    assert value({**spec, "steps_per_epoch": 7}, 7 * 60) == pytest.approx(0.001)


def test_cost_does_not_grow_with_the_step() -> None:
    import time

    specs = [
        {"type": "SGDR", "T_0": 10, "T_mult": 1.37, "restart_decay": 0.9, "base_lr": 1.0},
        {"type": "Warmup", "schedule": COSINE, "warmup_steps": 100, "base_lr": 1.0},
        {"type": "InverseSqrt", "warmup_steps": 100, "base_lr": 1.0},
    ]
    for spec in specs:
        schedule = build_schedule([Segment(0, parse_spec(spec))])
        state = schedule.initial_state()
        timings = []
        for step in (10, 10**12):
            started = time.perf_counter()
            for _ in range(2000):
                schedule.values(step, state)
            timings.append(time.perf_counter() - started)
        assert timings[1] < timings[0] * 3 + 0.01


# --- bounds at any step --------------------------------------------------------------

beyond_specs = st.one_of(
    st.builds(
        lambda w, shape, f, shift, t: {
            "type": "Warmup",
            "warmup_steps": w,
            "shape": shape,
            "start_factor": f,
            "shift": shift,
            "schedule": {"type": "CosineAnnealingLR", "T_max": t},
        },
        st.integers(0, 10**6),
        st.sampled_from(["linear", "cosine", "exponential"]),
        st.floats(1e-6, 1.0),
        st.booleans(),
        st.integers(1, 10**9),
    ),
    st.builds(
        lambda t0, mult, decay, floor: {
            "type": "SGDR",
            "T_0": t0,
            "T_mult": mult,
            "restart_decay": decay,
            "eta_min": floor,
        },
        st.integers(1, 10**6),
        st.floats(1.0, 10.0),
        st.floats(1e-3, 1.0),
        st.floats(0.0, 0.5),
    ),
    st.builds(
        lambda w, s, d, shape, r: {
            "type": "WarmupStableDecay",
            "warmup_steps": w,
            "stable_steps": s,
            "decay_steps": d,
            "decay_shape": shape,
            "min_lr_ratio": r,
        },
        st.integers(0, 10**6),
        st.integers(0, 10**6),
        st.integers(0, 10**6),
        st.sampled_from(["linear", "cosine", "sqrt"]),
        st.floats(0.0, 1.0),
    ),
    st.builds(
        lambda w, tau: {"type": "InverseSqrt", "warmup_steps": w, "timescale": tau},
        st.integers(0, 10**6),
        st.one_of(st.none(), st.integers(1, 10**6)),
    ),
)


@settings(max_examples=300, deadline=None)
@given(spec=beyond_specs, step=st.one_of(st.integers(0, 10**4), st.integers(0, 10**15)))
def test_values_stay_within_zero_and_the_base(spec: dict[str, Any], step: int) -> None:
    lr = value({**spec, "base_lr": 0.5}, step)
    assert math.isfinite(lr) and 0.0 <= lr <= 0.5 * (1 + 1e-12)


@settings(max_examples=100, deadline=None)
@given(
    warm=st.integers(1, 500),
    stable=st.integers(0, 500),
    decay_steps=st.integers(1, 500),
    shape=st.sampled_from(["linear", "cosine", "sqrt"]),
    ratio=st.floats(0.0, 1.0),
)
def test_warmup_stable_decay_joins_are_continuous(
    warm: int, stable: int, decay_steps: int, shape: str, ratio: float
) -> None:
    spec = {
        "type": "WarmupStableDecay",
        "warmup_steps": warm,
        "stable_steps": stable,
        "decay_steps": decay_steps,
        "decay_shape": shape,
        "min_lr_ratio": ratio,
        "base_lr": 1.0,
    }
    end = warm + stable + decay_steps
    values = curve(spec, end + 2)
    steepest_decay = {
        "linear": (1 - ratio) / decay_steps,
        "cosine": (1 - ratio) * math.pi / 2 / decay_steps,
        "sqrt": (1 - ratio) * math.sqrt(1 / decay_steps),
    }[shape]
    for join in (warm, warm + stable, end):
        jump = abs(values[join] - values[join - 1])
        assert jump <= max(1 / warm, steepest_decay) + 1e-12
    assert values[warm] == 1.0 and values[end] == pytest.approx(ratio)
