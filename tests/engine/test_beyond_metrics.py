"""Metric-driven beyond-torch types: the range test, the divergence guard, suggestions."""

from __future__ import annotations

import math
from typing import Any

import pytest
from engine_support import as_lists
from hypothesis import given, settings
from hypothesis import strategies as st

from lrhub_service.engine import MetricState, Report, Schedule, Segment, build_schedule, parse_spec
from lrhub_service.engine.beyond import range_test_suggestions, smooth_losses


def build(spec: dict[str, Any], **options: Any) -> Schedule:
    return build_schedule([Segment(0, parse_spec(spec))], **options)


def fold_all(schedule: Schedule, losses: list[float], metric: str = "loss") -> list[MetricState]:
    states = [schedule.initial_state()]
    for step, loss in enumerate(losses, start=1):
        states.append(schedule.fold(states[-1], Report(step, {metric: loss})))
    return states


RANGE = {"type": "LRRangeTest", "start_lr": 1e-6, "end_lr": 1.0, "num_steps": 50}


# --- LRRangeTest ---------------------------------------------------------------------


def test_range_test_ramps() -> None:
    lrs = as_lists(build(RANGE).window(0, 52, MetricState()))[0][0]
    assert lrs[0] == 1e-6 and lrs[49] == pytest.approx(1.0) and lrs[50:] == [lrs[49]] * 2
    assert lrs[10] == pytest.approx(1e-6 * (1e6) ** (10 / 49))
    linear = as_lists(
        build({**RANGE, "mode": "linear", "start_lr": 0.0}).window(0, 50, MetricState())
    )
    assert linear[0][0][:3] == pytest.approx([0.0, 1 / 49, 2 / 49])
    assert build({**RANGE, "base_lr": [1.0, 2.0], "end_lr": [1.0, 2.0]}).num_groups == 2


def test_range_test_fold_smooths_and_stops_on_divergence() -> None:
    schedule = build(RANGE)
    assert schedule.metric_driven
    losses = [2.0, 1.8, 1.5, 1.2, 1.0, 0.9, 0.95, 3.0, 9.0, 30.0, 100.0, 400.0]
    states = fold_all(schedule, losses)
    smoothed = smooth_losses(losses)
    record = states[4].node(next(iter(states[4].nodes)))
    assert record["smoothed"] == pytest.approx(smoothed[3])
    assert record["best"] == pytest.approx(min(smoothed[:4]))
    stop_at = next(i for i, s in enumerate(smoothed) if s > 4 * min(smoothed[: i + 1]))
    assert not states[stop_at].stopped and states[stop_at + 1].stopped
    assert schedule.decision(states[stop_at], states[stop_at + 1])["reason"] == "diverged"
    assert states[-1].to_json() == states[stop_at + 1].to_json() | {"reports": len(losses)}


def test_range_test_stops_on_nan_and_after_num_steps() -> None:
    schedule = build(RANGE)
    states = fold_all(schedule, [1.0, float("nan")])
    assert states[2].stopped and not states[1].stopped
    finished = fold_all(schedule, [1.0] * 50)
    assert finished[50].stopped and not finished[49].stopped
    assert schedule.decision(finished[49], finished[50])["reason"] == "completed"
    other = schedule.fold(MetricState(), Report(1, {"accuracy": 0.1}))
    assert other.nodes == {} and not other.stopped


@settings(max_examples=60, deadline=None)
@given(
    losses=st.lists(
        st.one_of(st.floats(0.01, 50.0), st.just(float("nan"))), min_size=1, max_size=40
    ),
    cut=st.integers(0, 40),
)
def test_range_test_fold_then_rewind_equals_fold_of_prefix(losses: list[float], cut: int) -> None:
    schedule = build(RANGE)
    states = fold_all(schedule, losses)
    cut = min(cut, len(losses))
    snapshot = [s.to_json() for s in states]
    assert fold_all(schedule, losses[:cut])[-1].to_json() == snapshot[cut]
    rebuilt = MetricState.from_json(snapshot[cut])
    for step, loss in enumerate(losses[cut:], start=cut + 1):
        rebuilt = schedule.fold(rebuilt, Report(step, {"loss": loss}))
    assert rebuilt.to_json() == snapshot[-1]
    assert [s.to_json() for s in states] == snapshot  # folding never mutated a state


# --- suggestions ---------------------------------------------------------------------


def synthetic_curve(n: int = 100) -> tuple[list[float], list[float]]:
    """A finder curve: flat, a steep descent centred at lr 1e-3, a minimum, then blow-up."""
    lrs = [1e-7 * (1e8) ** (i / (n - 1)) for i in range(n)]
    losses = []
    for lr in lrs:
        x = math.log10(lr)
        descent = 2.0 / (1 + math.exp(3 * (x + 3)))  # falls from 2 to 0 around 1e-3
        blowup = math.exp(4 * (x + 1)) if x > -1 else 0.0  # explodes past 1e-1
        losses.append(0.5 + descent + blowup)
    return lrs, losses


def test_suggestions_on_a_synthetic_curve() -> None:
    lrs, losses = synthetic_curve()
    found = range_test_suggestions(lrs, losses, beta=0.0)
    assert set(found) == {"steepest", "valley", "min_div10", "minimum"}
    assert found["steepest"] == pytest.approx(1e-3, rel=0.25)  # the inflection of the descent
    lowest = min(range(len(losses)), key=losses.__getitem__)
    assert found["minimum"] == lrs[lowest] and found["min_div10"] == lrs[lowest] / 10
    assert 1e-4 < found["valley"] < found["minimum"]  # inside the long descent
    smoothed = range_test_suggestions(lrs, losses)  # fastai's beta 0.98 lags the curve
    assert smoothed["steepest"] < smoothed["minimum"] < lrs[-1]


def test_suggestions_stop_at_the_first_nan_and_handle_no_descent() -> None:
    lrs, losses = synthetic_curve()
    with_nan = losses[:80] + [float("nan")] * 20
    assert range_test_suggestions(lrs, with_nan, 0.0) == range_test_suggestions(
        lrs[:80], losses[:80], 0.0
    )
    rising = range_test_suggestions([1e-3, 1e-2, 1e-1], [1.0, 2.0, 3.0], 0.0)
    assert rising == {"steepest": None, "valley": None, "min_div10": 1e-4, "minimum": 1e-3}
    assert range_test_suggestions([1e-3], [float("nan")])["minimum"] is None


@pytest.mark.parametrize(
    ("lrs", "losses", "message"),
    [([1.0], [1.0, 2.0], "differ in length"), ([0.0, 1.0], [1.0, 2.0], "> 0")],
)
def test_suggestions_refuse_bad_input(lrs: list[float], losses: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        range_test_suggestions(lrs, losses)


# --- DivergenceGuard -----------------------------------------------------------------

GUARD = {
    "type": "DivergenceGuard",
    "schedule": {"type": "CosineAnnealingLR", "T_max": 100},
    "lr_factor": 0.5,
    "max_reductions": 2,
    "base_lr": 0.1,
}


def test_guard_cuts_from_the_effective_step_and_then_stops() -> None:
    schedule = build(GUARD)
    state = schedule.initial_state()
    cosine = build({"type": "CosineAnnealingLR", "T_max": 100, "base_lr": 0.1})
    for step, loss in [(1, 1.0), (2, 0.5), (3, 1.9)]:
        state = schedule.fold(state, Report(step, {"loss": loss}))
    assert not state.diverged
    before = state
    state = schedule.fold(state, Report(10, {"loss": 2.5}))  # > 4 x best 0.5
    assert state.diverged and not state.stopped
    decision = schedule.decision(before, state)
    assert decision == {
        "kind": "divergence",
        "best": 0.5,
        "reductions": 1,
        "factor": 0.5,
        "step": 10,
    }
    ours, plain = (
        as_lists(schedule.window(0, 30, state))[0][0],
        as_lists(cosine.window(0, 30, state))[0][0],
    )
    assert ours[:10] == plain[:10]
    assert ours[10:] == pytest.approx([0.5 * v for v in plain[10:]])
    state = schedule.fold(state, Report(20, {"loss": float("inf")}))
    assert schedule.values(25, state).lrs[0] == pytest.approx(0.25 * plain[25])
    assert not state.stopped
    state = schedule.fold(state, Report(21, {"loss": float("nan")}))
    assert state.stopped and schedule.decision(before, state)["reductions"] == 2


def test_guard_without_lr_factor_only_flags_and_stops() -> None:
    spec = {k: v for k, v in GUARD.items() if k not in ("lr_factor", "max_reductions")}
    schedule = build(spec)
    states = fold_all(schedule, [1.0, 0.9, 10.0])
    assert states[2].to_json()["diverged"] is False
    assert states[3].diverged and states[3].stopped
    plain = build(spec["schedule"] | {"base_lr": 0.1})
    assert (
        as_lists(schedule.window(0, 20, states[3]))[0]
        == as_lists(plain.window(0, 20, states[3]))[0]
    )


def test_guard_cooldown_ignores_spikes_but_not_nan() -> None:
    schedule = build({**GUARD, "cooldown": 2, "max_reductions": 5})
    states = fold_all(schedule, [1.0, 5.0, 5.0, 5.0, 5.0, float("nan")])
    cuts = [len(s.node("0:$")["cuts"]) if s.nodes else 0 for s in states]
    assert cuts == [0, 0, 1, 1, 1, 2, 3]


def test_guard_wrapping_a_plateau_folds_both() -> None:
    spec = {**GUARD, "schedule": {"type": "ReduceLROnPlateau", "patience": 0, "factor": 0.1}}
    schedule = build(spec)
    states = fold_all(schedule, [1.0, 1.0, 1.0])
    assert schedule.values(3, states[3]).lrs[0] == pytest.approx(0.1 * 0.1**2)


@settings(max_examples=60, deadline=None)
@given(
    losses=st.lists(
        st.one_of(st.floats(0.01, 50.0), st.just(float("nan")), st.just(float("inf"))),
        min_size=1,
        max_size=30,
    ),
    cut=st.integers(0, 30),
    cooldown=st.integers(0, 3),
)
def test_guard_fold_then_rewind_equals_fold_of_prefix(
    losses: list[float], cut: int, cooldown: int
) -> None:
    schedule = build({**GUARD, "cooldown": cooldown})
    states = fold_all(schedule, losses)
    cut = min(cut, len(losses))
    prefix = fold_all(schedule, losses[:cut])[-1]
    assert prefix.to_json() == states[cut].to_json()
    for step in (0, cut, cut + 5):
        assert schedule.values(step, prefix) == schedule.values(step, states[cut])
    lrs = as_lists(schedule.window(0, 40, states[-1]))[0][0]
    assert all(0 <= v <= 0.1 for v in lrs)


# --- metric-driven parts inside wrappers ---------------------------------------------


def test_plateau_after_a_warmup_sees_only_post_warmup_reports() -> None:
    plateau = {"type": "ReduceLROnPlateau", "patience": 0, "factor": 0.5}
    schedule = build({"type": "Warmup", "schedule": plateau, "warmup_steps": 4, "base_lr": 1.0})
    states = fold_all(schedule, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    lrs = as_lists(schedule.window(0, 9, states[-1]))[0][0]
    assert lrs[:4] == pytest.approx([0.0, 0.25, 0.5, 0.75])  # warm-up untouched by reports
    # reports 5, 6, 7 reach the plateau (its steps 1, 2, 3): the first sets the best,
    # each later one is a bad report that halves the lr from its own step on
    assert lrs[4:] == pytest.approx([1.0, 1.0, 0.5, 0.25, 0.25])
    assert fold_all(schedule, [1.0] * 4)[-1].nodes == {}


def test_plateau_per_epoch_decides_at_the_next_epoch_boundary() -> None:
    plateau = {"type": "ReduceLROnPlateau", "patience": 0, "factor": 0.1}
    spec = {"type": "PerEpoch", "schedule": plateau, "steps_per_epoch": 10, "base_lr": 1.0}
    schedule = build(spec)
    state = schedule.initial_state()
    state = schedule.fold(state, Report(10, {"loss": 1.0}))
    state = schedule.fold(state, Report(15, {"loss": 2.0}))  # mid-epoch: applies from step 20
    lrs = as_lists(schedule.window(0, 30, state))[0][0]
    assert lrs[:20] == [1.0] * 20 and lrs[20:] == pytest.approx([0.1] * 10)


def test_batch_scaling_group_count_ignores_warnings() -> None:
    spec = {
        "type": "BatchSizeScaling",
        "reference_batch_size": 1,
        "batch_size": 64,
        "schedule": {"type": "StepLR", "step_size": 3},
        "base_lr": 0.1,
    }
    assert len(parse_spec(spec).warnings) == 2
    assert build(spec).num_groups == 1
    assert build({**spec, "max_lr": [1.0, 2.0, 3.0], "base_lr": 0.1}).num_groups == 3
