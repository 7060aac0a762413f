"""Property tests: bounds, window = values, continuity, and rewinding metric state."""

from __future__ import annotations

import itertools
import math
from typing import Any

from engine_support import as_lists
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lrhub_service.engine import MetricState, Report, Segment, build_schedule, parse_spec

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

small = st.integers(1, 50)
factor = st.floats(0.05, 1.0)
lr = st.floats(1e-4, 1.0)

LAMBDAS = ["0.95 ** step", "1 / (1 + step)", "max(0.1, 1 - step / 100)", "0.5 + 0.5 * cos(step)"]

leaves = st.one_of(
    st.builds(lambda s, g: {"type": "StepLR", "step_size": s, "gamma": g}, small, factor),
    st.builds(
        lambda m, g: {"type": "MultiStepLR", "milestones": m, "gamma": g},
        st.lists(st.integers(0, 60), max_size=4),
        factor,
    ),
    st.builds(lambda f, t: {"type": "ConstantLR", "factor": f, "total_iters": t}, factor, small),
    st.builds(
        lambda a, b, t: {"type": "LinearLR", "start_factor": a, "end_factor": b, "total_iters": t},
        factor,
        factor,
        st.integers(0, 50),
    ),
    st.builds(lambda g: {"type": "ExponentialLR", "gamma": g}, factor),
    st.builds(
        lambda t, p: {"type": "PolynomialLR", "total_iters": t, "power": p}, small, st.floats(0, 3)
    ),
    st.builds(
        lambda t, e, p: {"type": "CosineAnnealingLR", "T_max": t, "eta_min": e, "periodic": p},
        small,
        st.floats(0, 1e-3),
        st.booleans(),
    ),
    st.builds(
        lambda t, m: {"type": "CosineAnnealingWarmRestarts", "T_0": t, "T_mult": m},
        small,
        st.integers(1, 3),
    ),
    st.builds(
        lambda m, u, mode: {"type": "CyclicLR", "max_lr": m, "step_size_up": u, "mode": mode},
        lr,
        small,
        st.sampled_from(["triangular", "triangular2", "exp_range"]),
    ),
    st.builds(
        lambda m, t, p, three: {
            "type": "OneCycleLR",
            "max_lr": m,
            "total_steps": t,
            "pct_start": p,
            "three_phase": three,
        },
        lr,
        st.integers(1, 200),
        st.floats(0, 1),
        st.booleans(),
    ),
    st.builds(lambda s: {"type": "LambdaLR", "lr_lambda": s}, st.sampled_from(LAMBDAS)),
    st.builds(lambda f: {"type": "MultiplicativeLR", "lr_lambda": str(f)}, factor),
    st.builds(
        lambda p, f, c: {"type": "ReduceLROnPlateau", "patience": p, "factor": f, "cooldown": c},
        st.integers(0, 3),
        st.floats(0, 0.9),
        st.integers(0, 3),
    ),
)


def composites(kids: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    seq = st.lists(kids, min_size=1, max_size=3).flatmap(
        lambda ss: st.lists(st.integers(0, 80), min_size=len(ss) - 1, max_size=len(ss) - 1).map(
            lambda ms: {"type": "SequentialLR", "schedulers": ss, "milestones": sorted(ms)}
        )
    )
    chain = st.lists(kids, min_size=1, max_size=3).map(
        lambda ss: {"type": "ChainedScheduler", "schedulers": ss}
    )
    return st.one_of(seq, chain)


specs = st.recursive(leaves, composites, max_leaves=5)
steps = st.one_of(st.integers(0, 300), st.integers(0, 10**12))
groups = st.lists(lr, min_size=1, max_size=3)
losses = st.lists(st.floats(-10, 10), min_size=1, max_size=40)


def build(spec: dict[str, Any], base_lrs: list[float]):
    return build_schedule([Segment(0, parse_spec(spec))], base_lrs, [0.9] * len(base_lrs))


def folded(sched, metrics: list[float]) -> list[MetricState]:
    states = [sched.initial_state()]
    for s, loss in enumerate(metrics, start=1):
        states.append(sched.fold(states[-1], Report(s, {"loss": loss})))
    return states


@SETTINGS
@given(specs, groups, st.lists(steps, min_size=1, max_size=8), losses)
def test_values_are_finite_and_never_negative(spec, base_lrs, at, metrics) -> None:
    sched = build(spec, base_lrs)
    state = folded(sched, metrics)[-1]
    for step in at:
        values = sched.values(step, state)
        assert len(values.lrs) == len(base_lrs)
        for v in values.lrs + (values.momentums or ()):
            assert math.isfinite(v) and v >= 0, (step, values)


@SETTINGS
@given(specs, groups, st.integers(0, 10**9), st.integers(0, 60), losses)
def test_window_equals_values_step_by_step(spec, base_lrs, start, count, metrics) -> None:
    sched = build(spec, base_lrs)
    state = folded(sched, metrics)[-1]
    lrs, moms = as_lists(sched.window(start, count, state))
    for i in range(count):
        values = sched.values(start + i, state)
        assert tuple(col[i] for col in lrs) == values.lrs
        if moms is not None:
            assert tuple(col[i] for col in moms) == values.momentums
    assert (moms is None) == (not sched.has_momentum)


@SETTINGS
@given(specs, groups, losses)
def test_fold_then_rewind_equals_fold_of_prefix(spec, base_lrs, metrics) -> None:
    sched = build(spec, base_lrs)
    states = folded(sched, metrics)
    final = states[-1]
    before = final.to_json()
    for k, prefix in enumerate(states):  # state at k = fold of reports with step <= k
        assert sched.values(k, final) == sched.values(k, prefix)
        again = MetricState.from_json(prefix.to_json())
        assert again == prefix and sched.values(k, again) == sched.values(k, prefix)
    assert final.to_json() == before  # folding never mutates a state


@SETTINGS
@given(lr, small, st.floats(0, 1e-3), st.floats(0.05, 1), st.floats(0.05, 1))
def test_smooth_schedules_move_by_bounded_steps(base, t, eta, a, b) -> None:
    cos = build({"type": "CosineAnnealingLR", "T_max": t, "eta_min": eta}, [base])
    lin = build({"type": "LinearLR", "start_factor": a, "end_factor": b, "total_iters": t}, [base])
    state = MetricState()
    for sched, bound in [
        (cos, abs(base - eta) * math.pi / (2 * t)),
        (lin, base * abs(b - a) / t),
    ]:
        lrs = as_lists(sched.window(0, 2 * t + 2, state))[0][0]
        assert max(abs(x - y) for x, y in itertools.pairwise(lrs)) <= bound * (1 + 1e-9) + 1e-15


@SETTINGS
@given(lr, st.integers(20, 400), st.floats(0.2, 0.8), st.booleans())
def test_one_cycle_is_continuous_including_past_its_end(max_lr, total, pct, three) -> None:
    spec = {"type": "OneCycleLR", "max_lr": max_lr, "total_steps": total, "pct_start": pct}
    sched = build({**spec, "three_phase": three and pct <= 0.45}, [0.1])
    lrs, moms = as_lists(sched.window(0, total + 10, MetricState()))
    shortest = min(pct * total, (1 - (2 if three else 1) * pct) * total) - 2
    bound = max_lr * math.pi / (2 * max(shortest, 1))
    assert max(abs(x - y) for x, y in zip(lrs[0], lrs[0][1:], strict=False)) <= bound
    assert lrs[0][total - 1 :] == [lrs[0][total - 1]] * 11
    assert moms is not None and moms[0][total - 1 :] == [moms[0][total - 1]] * 11
