"""Folding cost is structural: linear in reports, state size bounded by decisions.

Resuming a run refolds every stored report, so a fold must cost O(1) per report
(plus O(decisions) for a report that decides) and must share unchanged parts with
the state it came from. No absolute timings: only ratios and object identity.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator
from types import MappingProxyType
from typing import Any

import pytest

from lrhub_service.engine import MetricState, Report, Schedule, Segment, build_schedule, parse_spec

COS = {"type": "CosineAnnealingLR", "T_max": 1000}
PLATEAU = {"type": "ReduceLROnPlateau", "patience": 5, "factor": 0.5, "base_lr": 1.0}
GUARD = {"type": "DivergenceGuard", "lr_factor": 0.5, "schedule": COS, "base_lr": 0.1}
RANGE = {"type": "LRRangeTest", "num_steps": 100_000}
CHAINED = {
    "type": "ChainedScheduler",
    "schedulers": [{"type": "ExponentialLR", "gamma": 0.999}, PLATEAU],
    "base_lr": 1.0,
}
SPECS = {"plateau": PLATEAU, "guard": GUARD, "range": RANGE, "chained": CHAINED}


def build(spec: dict[str, Any]) -> Schedule:
    return build_schedule([Segment(0, parse_spec(spec))])


def improving(step: int) -> float:
    """A loss that keeps getting better: no metric-driven hook ever decides."""
    return 1.0 / step


def stalling(step: int) -> float:
    """Improves, then stalls in bursts: a plateau every ~100 reports, a few spikes."""
    if step % 1000 == 500:
        return math.inf
    return 1.0 + (step % 100 == 0) * 0.5 + 1.0 / step


def fold(sched: Schedule, count: int, loss: Callable[[int], float]) -> Iterator[MetricState]:
    state = sched.initial_state()
    for step in range(1, count + 1):
        state = sched.fold(state, Report(step, {"loss": loss(step)}))
        yield state


def last(sched: Schedule, count: int, loss: Callable[[int], float]) -> MetricState:
    state = sched.initial_state()
    for state in fold(sched, count, loss):  # noqa: B007
        pass
    return state


def leaves(value: Any) -> int:
    """How many scalars a record holds (its size, independent of the numbers)."""
    if isinstance(value, MappingProxyType):
        return sum(leaves(v) for v in value.values())
    if isinstance(value, tuple):
        return sum(leaves(v) for v in value)
    assert value is None or isinstance(value, (int, float, str)), type(value)
    return 1


@pytest.mark.parametrize("name", sorted(SPECS))
def test_state_size_does_not_grow_with_reports_that_decide_nothing(name: str) -> None:
    sched = build(SPECS[name])
    sizes = [leaves(s.nodes) for s in fold(sched, 3000, improving)]
    assert sizes[100] > 0
    assert sizes[-1] == sizes[100] == sizes[1000]


def test_plateau_state_grows_only_with_its_reductions() -> None:
    sched = build(PLATEAU)
    states = list(fold(sched, 2000, stalling))
    record = states[-1].node("0:$")
    assert 0 < len(record["steps"]) < 40  # the lr reaches eps: reductions stop
    size = leaves(states[-1].nodes)
    assert size == 3 + 2 * len(record["steps"])  # best, bad, cooldown + steps + counts
    for old, new in itertools.pairwise(states):
        before, after = old.node("0:$"), new.node("0:$")
        if sched.decision(old, new) is None:  # nothing decided: the history is shared
            assert after["steps"] is before["steps"] and after["counts"] is before["counts"]


def test_guard_shares_its_cuts_between_reports() -> None:
    sched = build(GUARD)
    states = list(fold(sched, 3600, stalling))
    cuts = [s.node("0:$")["cuts"] for s in states]
    assert len(cuts[-1]) == 3  # max_reductions; the 4th divergence asks to stop
    assert states[-1].stopped and states[-1].diverged
    for before, after in itertools.pairwise(cuts):
        assert after is before or len(after) == len(before) + 1


@pytest.mark.parametrize("name", sorted(SPECS))
def test_records_stay_frozen_all_the_way_down(name: str) -> None:
    sched = build(SPECS[name])
    for state in fold(sched, 1200, stalling):
        assert isinstance(state.nodes, MappingProxyType)
        leaves(state.nodes)  # asserts: only proxies, tuples and scalars
    record = state.node(next(iter(state.nodes)))
    with pytest.raises(TypeError):
        record["best"] = 0.0
    if name in ("plateau", "chained"):
        with pytest.raises(AttributeError):
            record["steps"].append(1)


def test_a_state_stored_by_the_previous_engine_still_loads_and_folds_on() -> None:
    sched = build(PLATEAU)
    stored = {  # to_json() output as written before records shared their tuples
        "nodes": {
            "0:$": {"best": 1.0, "bad": 2, "cooldown": 0, "steps": [7, 14], "counts": [[1], [2]]}
        },
        "stopped": False,
        "diverged": False,
        "reports": 15,
    }
    state = MetricState.from_json(stored)
    assert state.to_json() == stored
    assert sched.values(14, state).lrs == (0.25,)
    for step in range(16, 20):
        state = sched.fold(state, Report(step, {"loss": 2.0}))
    assert state.to_json()["nodes"]["0:$"]["steps"] == [7, 14, 19]
    assert sched.values(19, state).lrs == (0.125,)
    assert MetricState.from_json(state.to_json()) == state


def cpu_seconds(sched: Schedule, count: int) -> float:
    """Best of three: CPU time to fold ``count`` reports (with decisions) one by one."""
    best = math.inf
    for _ in range(3):
        began = time.process_time()
        last(sched, count, stalling)
        best = min(best, time.process_time() - began)
    return best


@pytest.mark.parametrize("name", sorted(SPECS))
def test_folding_is_linear_in_the_number_of_reports(name: str) -> None:
    sched = build(SPECS[name])
    small, large = cpu_seconds(sched, 2000), cpu_seconds(sched, 20_000)
    # linear: ~10x; quadratic would be ~100x. 30x leaves room for a noisy machine.
    assert large < 30 * max(small, 1e-3), (small, large)
