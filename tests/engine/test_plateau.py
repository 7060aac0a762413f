"""ReduceLROnPlateau: a pure fold over reports that reproduces torch step by step."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from torch_reference import assert_close, torch_values

from lrhub_service.engine import MetricState, Report, Segment, build_schedule, parse_spec


def metric_series(seed: int, steps: int, *, sign: float = 1.0, scale: float = 1.0) -> list[float]:
    """A noisy loss with long plateaus, so that the scheduler has to decide often."""
    rng = random.Random(seed)
    value, out = 2.0, [math.nan]
    for s in range(1, steps):
        if s % 17 < 6:
            value *= 0.9
        out.append(sign * scale * (value + rng.uniform(-0.01, 0.01)))
    return out


def fold_values(spec: dict[str, Any], base_lrs: list[float], metrics: list[float], name="loss"):
    sched = build_schedule([Segment(0, parse_spec(spec))], base_lrs)
    state = sched.initial_state()
    lrs = [[v] for v in sched.values(0, state).lrs]
    for s in range(1, len(metrics)):
        state = sched.fold(state, Report(s, {name: metrics[s]}))
        for g, v in enumerate(sched.values(s, state).lrs):
            lrs[g].append(v)
    return sched, state, lrs


CASES = [
    ("default", {"patience": 3}, {}),
    ("cooldown", {"patience": 2, "cooldown": 4, "factor": 0.5}, {}),
    ("abs", {"patience": 2, "threshold": 0.05, "threshold_mode": "abs"}, {}),
    ("rel-big", {"patience": 1, "threshold": 0.1, "factor": 0.7}, {}),
    ("max", {"mode": "max", "patience": 2, "factor": 0.5}, {"sign": -1.0}),
    (
        "max-abs",
        {"mode": "max", "threshold_mode": "abs", "threshold": 0.02, "patience": 2},
        {"sign": -1.0},
    ),
    ("negative-min", {"patience": 2, "factor": 0.5}, {"sign": -1.0, "scale": 0.5}),
    ("min-lr-list", {"patience": 1, "factor": 0.3, "min_lr": [0.004, 0.0001]}, {}),
    ("min-lr-scalar", {"patience": 0, "factor": 0.5, "min_lr": 0.01}, {}),
    ("eps", {"patience": 0, "factor": 0.9, "eps": 0.003}, {}),
]


@pytest.mark.parametrize(
    ("params", "series"), [(p, s) for _, p, s in CASES], ids=[c[0] for c in CASES]
)
def test_plateau_matches_torch(params: dict[str, Any], series: dict[str, float]) -> None:
    spec = {"type": "ReduceLROnPlateau", **params}
    metrics = metric_series(7, 160, **series)
    base_lrs = [0.1, 0.05]
    _, _, lrs = fold_values(spec, base_lrs, metrics)
    torch_lrs, _ = torch_values(spec, base_lrs, 160, metrics=metrics)
    assert_close(lrs, torch_lrs)
    assert lrs[0][-1] < lrs[0][0], "the series must make the scheduler reduce at least once"


def test_decision_reports_a_reduction_and_state_round_trips_json() -> None:
    spec = parse_spec({"type": "ReduceLROnPlateau", "patience": 1, "factor": 0.5, "base_lr": 1.0})
    sched = build_schedule([Segment(0, spec)])
    assert sched.metric_driven and not sched.has_momentum
    state = sched.initial_state()
    decisions = []
    for s, loss in enumerate([1.0, 1.0, 1.0], start=1):
        new = sched.fold(state, Report(s, {"loss": loss}))
        decisions.append(sched.decision(state, new))
        state = new
    assert decisions[:2] == [None, None]
    assert decisions[2] == {"kind": "plateau", "factor": 0.5, "step": 3, "reductions": [1]}
    assert sched.values(2, state).lrs == (1.0,)  # a decision at step 3 applies from step 3
    assert sched.values(3, state).lrs == (0.5,)
    again = MetricState.from_json(state.to_json())
    assert again == state
    assert sched.values(3, again).lrs == (0.5,)


def test_metric_name_selects_the_watched_metric() -> None:
    spec = {"type": "ReduceLROnPlateau", "patience": 0, "metric": "val", "base_lr": 1.0}
    sched = build_schedule([Segment(0, parse_spec(spec))])
    state = sched.initial_state()
    for s in range(1, 5):  # train loss stalls, val keeps improving: no reduction
        state = sched.fold(state, Report(s, {"loss": 1.0, "val": 1.0 / s}))
    assert sched.values(5, state).lrs == (1.0,)
    state = sched.fold(state, Report(5, {"loss": 0.1}))  # no "val": ignored
    assert sched.values(5, state).lrs == (1.0,)


def test_non_finite_metrics_count_as_bad_reports() -> None:
    spec = {"type": "ReduceLROnPlateau", "patience": 1, "base_lr": 1.0}
    sched = build_schedule([Segment(0, parse_spec(spec))])
    state = sched.initial_state()
    for s, loss in enumerate([1.0, math.nan, math.inf], start=1):
        state = sched.fold(state, Report(s, {"loss": loss}))
    assert sched.values(3, state).lrs == pytest.approx((0.1,))
    assert MetricState.from_json(state.to_json()) == state


WARMUP_THEN_PLATEAU = {
    "type": "SequentialLR",
    "schedulers": [
        {"type": "LinearLR", "start_factor": 0.1, "total_iters": 5},
        {"type": "ReduceLROnPlateau", "patience": 1, "factor": 0.5},
    ],
    "milestones": [5],
}


def test_plateau_after_a_warmup_counts_reports_from_its_own_start() -> None:
    sched = build_schedule([Segment(0, parse_spec(WARMUP_THEN_PLATEAU))], [1.0])
    state = sched.initial_state()
    for s in range(1, 6):  # flat loss during warm-up (and at the switch step): ignored
        state = sched.fold(state, Report(s, {"loss": 1.0}))
    assert [sched.values(s, state).lrs[0] for s in range(6)] == pytest.approx(
        [0.1, 0.28, 0.46, 0.64, 0.82, 1.0]
    )
    for s in (6, 7):  # first report sets best, second is bad, third reduces
        state = sched.fold(state, Report(s, {"loss": 1.0}))
    assert sched.values(7, state).lrs[0] == 1.0
    state = sched.fold(state, Report(8, {"loss": 1.0}))
    assert sched.values(8, state).lrs[0] == 0.5
    assert sched.values(4, state).lrs[0] == pytest.approx(0.82)  # the warm-up is untouched


def test_plateau_chained_with_exponential_decay_reduces_the_running_product() -> None:
    spec = {
        "type": "ChainedScheduler",
        "schedulers": [
            {"type": "ExponentialLR", "gamma": 0.9},
            {"type": "ReduceLROnPlateau", "patience": 0, "factor": 0.5, "min_lr": 0.01},
        ],
    }
    sched = build_schedule([Segment(0, parse_spec(spec))], [1.0])
    state = sched.initial_state()
    state = sched.fold(state, Report(1, {"loss": 1.0}))
    assert sched.values(3, state).lrs[0] == pytest.approx(0.9**3)
    state = sched.fold(state, Report(4, {"loss": 2.0}))  # worse: reduce from step 4
    assert sched.values(3, state).lrs[0] == pytest.approx(0.9**3)
    assert sched.values(4, state).lrs[0] == pytest.approx(0.9**4 * 0.5)
    assert sched.values(10, state).lrs[0] == pytest.approx(0.9**10 * 0.5)
    assert sched.values(200, state).lrs[0] == 0.01  # min_lr floors the reduced product


def test_torch_refuses_what_we_compose() -> None:
    import torch
    from torch_reference import make_optimizer, make_scheduler

    opt = make_optimizer([0.1])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        make_scheduler(WARMUP_THEN_PLATEAU, opt)
    assert torch.__version__.startswith("2.13")


def test_no_decision_when_every_group_is_already_at_its_floor() -> None:
    spec = {"type": "ReduceLROnPlateau", "patience": 0, "factor": 0.5, "min_lr": 0.4}
    sched = build_schedule([Segment(0, parse_spec(spec))], [1.0])
    state = sched.fold(sched.initial_state(), Report(1, {"loss": 1.0}))
    decisions = []
    for s in range(2, 6):
        new = sched.fold(state, Report(s, {"loss": 2.0}))
        decisions.append(sched.decision(state, new))
        state = new
    assert [d is not None for d in decisions] == [True, True, False, False]
    assert [sched.values(s, state).lrs[0] for s in range(1, 6)] == [1.0, 0.5, 0.4, 0.4, 0.4]
    assert len(state.to_json()["nodes"]["0:$"]["steps"]) == 2
    with pytest.raises(TypeError):
        state.nodes["0:$"]["steps"] = []  # type: ignore[index]
