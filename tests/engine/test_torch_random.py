"""Random parameters of every torch type (and their compositions) against torch itself."""

from __future__ import annotations

from typing import Any

from engine_support import as_lists
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch_reference import assert_close, torch_values

from lrhub_service.engine import Segment, build_schedule, parse_spec

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STEPS = 90

small = st.integers(1, 40)
factor = st.floats(0.05, 1.0)
gamma = st.floats(0.5, 1.0)
EXPRESSIONS = [
    "0.97 ** step",
    "1 / (1 + step // 3)",
    "max(0.05, 1 - step / 60)",
    "0.5 + 0.5 * cos(step)",
]

# children that torch chains multiplicatively (so a ChainedScheduler is their product)
multiplicative = st.one_of(
    st.builds(lambda s, g: {"type": "StepLR", "step_size": s, "gamma": g}, small, gamma),
    st.builds(
        lambda m, g: {"type": "MultiStepLR", "milestones": m, "gamma": g},
        st.lists(st.integers(0, 80), max_size=5),
        gamma,
    ),
    st.builds(lambda f, t: {"type": "ConstantLR", "factor": f, "total_iters": t}, factor, small),
    st.builds(
        lambda a, b, t: {"type": "LinearLR", "start_factor": a, "end_factor": b, "total_iters": t},
        factor,
        factor,
        small,
    ),
    st.builds(lambda g: {"type": "ExponentialLR", "gamma": g}, st.floats(0.9, 1.0)),
    st.builds(
        lambda t, p: {"type": "PolynomialLR", "total_iters": t, "power": p},
        small,
        st.floats(0.1, 3),
    ),
    st.builds(lambda f: {"type": "MultiplicativeLR", "lr_lambda": f"{f!r}"}, st.floats(0.9, 1.0)),
)
others = st.one_of(
    st.builds(
        lambda t, e: {"type": "CosineAnnealingLR", "T_max": t, "eta_min": e, "periodic": True},
        small,
        st.floats(0, 0.01),
    ),
    st.builds(
        lambda t, m, e: {
            "type": "CosineAnnealingWarmRestarts",
            "T_0": t,
            "T_mult": m,
            "eta_min": e,
        },
        st.integers(1, 10),
        st.integers(1, 3),
        st.floats(0, 0.01),
    ),
    st.builds(
        lambda m, u, d, mode, g: {
            "type": "CyclicLR",
            "max_lr": m,
            "step_size_up": u,
            "step_size_down": d,
            "mode": mode,
            "gamma": g,
        },
        st.floats(0.01, 1),
        small,
        st.none() | small,
        st.sampled_from(["triangular", "triangular2", "exp_range"]),
        st.floats(0.9, 1.0),
    ),
    st.builds(lambda s: {"type": "LambdaLR", "lr_lambda": s}, st.sampled_from(EXPRESSIONS)),
)
sequence_children = st.one_of(
    multiplicative.filter(lambda s: s["type"] != "MultiplicativeLR"), others
)
sequential = st.lists(sequence_children, min_size=1, max_size=3).flatmap(
    lambda ss: st.lists(st.integers(0, 60), min_size=len(ss) - 1, max_size=len(ss) - 1).map(
        lambda ms: {"type": "SequentialLR", "schedulers": ss, "milestones": sorted(ms)}
    )
)
chained = st.lists(multiplicative, min_size=1, max_size=3).map(
    lambda ss: {"type": "ChainedScheduler", "schedulers": ss}
)
specs = st.one_of(multiplicative, others, sequential, chained)
groups = st.lists(st.floats(1e-3, 1.0), min_size=1, max_size=3)


@SETTINGS
@given(specs, groups)
def test_random_specs_match_torch(spec: dict[str, Any], base_lrs: list[float]) -> None:
    sched = build_schedule([Segment(0, parse_spec(spec))], base_lrs, [0.9] * len(base_lrs))
    lrs, moms = as_lists(sched.window(0, STEPS, sched.initial_state()))
    torch_lrs, torch_moms = torch_values(spec, base_lrs, STEPS)
    assert_close(lrs, torch_lrs)
    if moms is not None:
        assert_close(moms, torch_moms, "momentum")


@SETTINGS
@given(
    st.floats(0.01, 1.0),
    st.integers(2, 120),
    st.floats(0, 1),
    st.sampled_from(["cos", "linear"]),
    st.booleans(),
    st.floats(2, 50),
    st.floats(10, 1e4),
    groups,
)
def test_random_one_cycles_match_torch(max_lr, total, pct, anneal, three, div, final, base_lrs):
    ends = [pct * total - 1, 2 * pct * total - 2, total - 1] if three else [pct * total - 1]
    starts = [0.0, *ends[:-1]]
    if any(abs(e - s) < 1e-9 for s, e in zip(starts, ends, strict=True)):
        return  # torch divides by zero on a phase of zero length (see test_quirks)
    spec = {
        "type": "OneCycleLR",
        "max_lr": max_lr,
        "total_steps": total,
        "pct_start": pct,
        "anneal_strategy": anneal,
        "three_phase": three,
        "div_factor": div,
        "final_div_factor": final,
    }
    sched = build_schedule([Segment(0, parse_spec(spec))], base_lrs, [0.9] * len(base_lrs))
    lrs, moms = as_lists(sched.window(0, total, sched.initial_state()))
    torch_lrs, torch_moms = torch_values(spec, base_lrs, total)
    assert_close(lrs, torch_lrs)
    assert moms is not None
    assert_close(moms, torch_moms, "momentum")
