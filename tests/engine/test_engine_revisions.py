"""Revisions: segments joined piecewise, each with a clock offset and a per-group scale."""

from __future__ import annotations

import pytest
from engine_support import as_lists

from lrhub_service.engine import MetricState, Report, Segment, SpecError, build_schedule, parse_spec

STEP = parse_spec({"type": "StepLR", "step_size": 10, "gamma": 0.5})
COS = parse_spec({"type": "CosineAnnealingLR", "T_max": 100})
PLATEAU = parse_spec({"type": "ReduceLROnPlateau", "patience": 0, "factor": 0.5})


def test_global_clock_segment_continues_the_step_count() -> None:
    sched = build_schedule([Segment(0, STEP), Segment(25, COS)], [1.0])
    state = sched.initial_state()
    assert sched.values(24, state).lrs == (0.25,)
    assert sched.values(25, state).lrs[0] == pytest.approx(COS_AT(25))
    assert sched.values(60, state).lrs[0] == pytest.approx(COS_AT(60))


def COS_AT(step: int) -> float:
    import math

    return (1 + math.cos(math.pi * min(step, 100) / 100)) / 2


def test_restarted_clock_and_scale_make_a_continuous_switch() -> None:
    state = MetricState()
    old = build_schedule([Segment(0, STEP)], [1.0, 0.1])
    at = old.values(30, state).lrs  # (0.125, 0.0125)
    new_at = build_schedule([Segment(0, COS)], [1.0, 0.1]).values(0, state).lrs
    scale = [a / b for a, b in zip(at, new_at, strict=True)]
    sched = build_schedule([Segment(0, STEP), Segment(30, COS, 30, scale)], [1.0, 0.1])
    assert sched.values(29, state).lrs == (0.25, 0.025)
    assert sched.values(30, state).lrs == pytest.approx(at)  # no jump
    assert sched.values(80, state).lrs == pytest.approx((0.125 * COS_AT(50), 0.0125 * COS_AT(50)))
    lrs, _ = as_lists(sched.window(25, 10, state))
    assert lrs[0] == [sched.values(s, state).lrs[0] for s in range(25, 35)]


def test_window_spans_several_segments() -> None:
    sched = build_schedule(
        [Segment(0, STEP), Segment(5, COS, 5), Segment(8, STEP, 0, [2.0])], [1.0]
    )
    state = sched.initial_state()
    lrs, moms = as_lists(sched.window(0, 12, state))
    assert moms is None
    assert lrs[0] == [sched.values(s, state).lrs[0] for s in range(12)]
    assert lrs[0][8] == 2.0


def test_plateau_in_a_revision_counts_only_its_own_reports() -> None:
    sched = build_schedule([Segment(0, STEP), Segment(10, PLATEAU, 10)], [1.0])
    assert sched.metric_driven
    state = sched.initial_state()
    for s in range(1, 11):  # reports before and at the switch are not the plateau's
        state = sched.fold(state, Report(s, {"loss": 1.0}))
    assert sched.values(11, state).lrs == (1.0,)
    state = sched.fold(state, Report(11, {"loss": 1.0}))
    new = sched.fold(state, Report(12, {"loss": 1.0}))
    assert sched.decision(state, new) == {
        "kind": "plateau", "factor": 0.5, "step": 12, "reductions": [1]
    }  # fmt: skip
    state = new
    assert sched.values(12, state).lrs == (0.5,)
    assert sched.values(9, state).lrs == (1.0,)


@pytest.mark.parametrize(
    ("segments", "loc"),
    [
        ([], "segments"),
        ([Segment(3, STEP)], "segments[0].start"),
        ([Segment(0, STEP), Segment(10, COS), Segment(10, COS)], "segments[2].start"),
        ([Segment(0, STEP), Segment(5, COS, 6)], "segments[1].clock_offset"),
        ([Segment(0, STEP), Segment(5, COS, 5, [0.0])], "segments[1].scale[0]"),
        ([Segment(0, STEP), Segment(5, COS, 5, [float("nan")])], "segments[1].scale[0]"),
        ([Segment(0, STEP), Segment(5, COS, 5, [1.0, 2.0])], "segments[1].scale"),
    ],
)
def test_segments_that_make_no_sense_are_refused(segments: list[Segment], loc: str) -> None:
    with pytest.raises(SpecError) as info:
        build_schedule(segments, [1.0])
    assert info.value.errors[0]["loc"] == loc


def test_group_count_and_base_values_are_checked() -> None:
    with pytest.raises(SpecError) as info:
        build_schedule([Segment(0, STEP)], [1.0, float("inf")])
    assert info.value.errors[0]["loc"] == "base_lrs[1]"
    with pytest.raises(SpecError) as info:
        build_schedule([Segment(0, STEP)], [1.0], [0.9, 0.9])
    assert info.value.errors[0]["loc"] == "base_momentums"
    spec = parse_spec({"type": "StepLR", "step_size": 2, "base_lr": [0.1, 0.2]})
    assert build_schedule([Segment(0, spec)]).num_groups == 2
    spec = parse_spec({"type": "OneCycleLR", "max_lr": [0.1, 0.2, 0.3], "total_steps": 9})
    assert build_schedule([Segment(0, spec)]).num_groups == 3


def test_a_revision_without_momentum_holds_the_last_cycled_momentum() -> None:
    one_cycle = parse_spec({"type": "OneCycleLR", "max_lr": 1.0, "total_steps": 100})
    state = MetricState()
    for base_momentums in (None, [0.9]):
        sched = build_schedule(
            [Segment(0, COS), Segment(10, one_cycle, 10), Segment(40, STEP, 40)],
            [1.0],
            base_momentums,
        )
        assert sched.has_momentum
        first = sched.values(10, state).momentums
        last = sched.values(39, state).momentums
        assert first == (0.95,) and last is not None and last[0] < 0.95
        assert sched.values(0, state).momentums == first  # before: the first cycled value
        assert sched.values(40, state).momentums == last  # after: held
        assert sched.values(10**9, state).momentums == last
