"""A report's service-side fold work does not grow with the run's report history.

Versions of a run's folded state share one append-only log: a report at the end of
the history appends to it (O(1) amortised) and never copies it, only deciding reports
keep a state, and every version answers exactly as a full fold would.
"""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
from api_support import unique

from lrhub_service.engine import MetricState, Report, Schedule, Segment, build_schedule, parse_spec
from lrhub_service.usecases.folding import FoldedState, FoldGroup, refold

COS = {"type": "CosineAnnealingLR", "T_max": 1000}
PLATEAU = {"type": "ReduceLROnPlateau", "patience": 3, "factor": 0.5, "base_lr": 1.0}
GUARD = {"type": "DivergenceGuard", "lr_factor": 0.5, "schedule": COS, "base_lr": 0.1}
RANGE = {"type": "LRRangeTest", "num_steps": 300}
CHAINED = {
    "type": "ChainedScheduler",
    "schedulers": [{"type": "ExponentialLR", "gamma": 0.999}, PLATEAU],
    "base_lr": 1.0,
}
SPECS = {"plateau": PLATEAU, "guard": GUARD, "range": RANGE, "chained": CHAINED}


def build(spec: dict[str, Any]) -> Schedule:
    return build_schedule([Segment(0, parse_spec(spec))])


def loss(step: int) -> float:
    """Improves, stalls every ~50 reports (plateaus), spikes now and then (divergence)."""
    if step % 400 == 200:
        return math.inf
    return 1.0 + (step % 50 < 10) * 0.5 + 1.0 / step


def group(step: int, effective: int | None = None, version: int | None = None) -> FoldGroup:
    eff = step if effective is None else effective
    return FoldGroup(eff, step, step if version is None else version, {"loss": loss(step)})


def grow(sched: Schedule, count: int) -> FoldedState:
    folded = FoldedState(initial=sched.initial_state())
    for step in range(1, count + 1):
        folded, _ = refold(sched, folded, group(step))
    return folded


def full_fold(sched: Schedule, groups: list[FoldGroup]) -> list[tuple[int, MetricState]]:
    """(effective step, state after the group): the reference, one state per group."""
    state, out = sched.initial_state(), []
    for g in sorted(groups, key=lambda g: g.key):
        state = sched.fold(state, Report(step=g.effective_step, metrics=g.metrics))
        out.append((g.effective_step, state))
    return out


def reference_at(sched: Schedule, states: list[tuple[int, MetricState]], step: int) -> Any:
    state = sched.initial_state()
    for effective, after in states:
        if effective <= step:
            state = after
    return sched.values(step, state), state.stopped, state.diverged


def assert_same(sched: Schedule, folded: FoldedState, groups: list[FoldGroup]) -> None:
    states = full_fold(sched, groups)
    assert folded.latest() == (states[-1][1] if states else sched.initial_state())
    last = max((g.effective_step for g in groups), default=0)
    for step in range(0, last + 3):
        state = folded.at(step)
        got = sched.values(step, state), state.stopped, state.diverged
        assert got == reference_at(sched, states, step), step
        change = folded.next_change(step)
        if change is not None:
            assert change > step
            assert folded.at(change - 1) is folded.at(step)


@pytest.mark.parametrize("name", SPECS)
def test_sparse_states_answer_like_a_full_fold(name: str) -> None:
    sched = build(SPECS[name])
    folded = grow(sched, 600)
    assert_same(sched, folded, [group(s) for s in range(1, 601)])
    assert folded.changed < 600 // 5  # only deciding reports keep a state


def test_versions_share_one_log_and_old_versions_never_change() -> None:
    sched = build(PLATEAU)
    versions = [FoldedState(initial=sched.initial_state())]
    for step in range(1, 301):
        versions.append(refold(sched, versions[-1], group(step))[0])
    assert len({id(v.log) for v in versions}) == 1  # appended in place, never copied
    for count in (0, 1, 57, 200, 300):
        assert_same(sched, versions[count], [group(s) for s in range(1, count + 1)])


def test_a_stale_version_forks_and_leaves_the_newer_one_alone() -> None:
    sched = build(PLATEAU)
    old = grow(sched, 120)
    bad = [FoldGroup(s, s, s, {"loss": 50.0}) for s in range(121, 131)]  # decides
    good = [FoldGroup(s, s, 500 + s, {"loss": 0.001 / s}) for s in range(121, 131)]
    newer = old
    for g in bad:
        newer, _ = refold(sched, newer, g)
    assert newer.log is old.log and newer.changed > old.changed
    other = old
    for g in good:
        other, _ = refold(sched, other, g)
    assert other.log is not newer.log  # the stale version copied its prefix once
    history = [group(s) for s in range(1, 121)]
    assert_same(sched, newer, [*history, *bad])
    assert_same(sched, other, [*history, *good])
    assert_same(sched, old, history)


def test_a_late_report_refolds_in_order_and_returns_its_own_decision() -> None:
    sched = build(PLATEAU)
    folded = grow(sched, 100)
    history = [group(s) for s in range(1, 101)]
    late = FoldGroup(60, 60, 1000, {"loss": 99.0})  # sorts before the last group
    with pytest.raises(ValueError, match="needs history"):
        refold(sched, folded, late)
    new, decision = refold(sched, folded, late, history)
    groups = [*history, late]
    assert_same(sched, new, groups)
    ordered = sorted(groups, key=lambda g: g.key)
    before = full_fold(sched, ordered[: ordered.index(late)])
    old_state = before[-1][1] if before else sched.initial_state()
    new_state = sched.fold(old_state, Report(step=60, metrics=late.metrics))
    assert decision == sched.decision(old_state, new_state)
    assert_same(sched, folded, [group(s) for s in range(1, 101)])  # untouched


def _cost(sched: Schedule, folded: FoldedState, start: int, count: int = 200) -> float:
    best = math.inf
    for _ in range(5):
        current, began = folded, time.perf_counter()
        for step in range(start, start + count):
            current, _ = refold(sched, current, group(step))
        best = min(best, time.perf_counter() - began)
    return best


def test_the_cost_of_a_report_does_not_grow_with_history() -> None:
    sched = build(PLATEAU)
    small, big = grow(sched, 200), grow(sched, 20_000)
    small_cost = _cost(sched, small, 201)
    big_cost = _cost(sched, big, 20_001)
    assert big_cost < 4 * small_cost + 0.002, (small_cost, big_cost)  # O(n) would be ~100x


def test_reports_through_the_api_append_to_the_cached_log(api: Any) -> None:
    run = api.post("/v1/runs", json={"name": unique("fold"), "schedule": PLATEAU}).json()
    rid = run["id"]
    hub = api.app.state.hub
    logs = set()
    answers = []
    for step in range(1, 81):
        body = {"step": step, "metrics": {"loss": loss(step)}}
        response = api.post(f"/v1/runs/{rid}/reports", json=body)
        assert response.status_code == 200, response.text
        answers.append(response.json())
        logs.add(id(hub.cache.peek(rid).folded.log))
    assert len(logs) == 1  # every report extended the cached log; none copied it
    cached = hub.cache.peek(rid).folded
    hub.cache.drop(rid)  # the next read loads the run from the database
    window = api.get(f"/v1/runs/{rid}/window", params={"start": 0, "count": 81}).json()
    loaded = hub.cache.peek(rid).folded
    assert loaded.latest() == cached.latest()
    assert [loaded.at(s) for s in range(82)] == [cached.at(s) for s in range(82)]
    assert any(a["decision"] for a in answers)
    for a in answers:
        assert window["lrs"][0][a["effective_step"]] == a["values"]["lr"]


def test_a_late_report_through_the_api_refolds_from_the_stored_reports(
    api: Any, database_url: str
) -> None:
    from sqlalchemy import create_engine, update
    from sqlalchemy.engine import make_url

    from lrhub_service.db.models import Run

    run = api.post("/v1/runs", json={"name": unique("late"), "schedule": PLATEAU}).json()
    rid, hub = run["id"], api.app.state.hub
    for step in range(2, 81, 2):
        body = {"step": step, "metrics": {"loss": loss(step)}}
        assert api.post(f"/v1/runs/{rid}/reports", json=body).status_code == 200
    url = make_url(database_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    engine = create_engine(url)
    with engine.begin() as conn:  # pretend nothing was promised: step 3 now sorts early
        conn.execute(update(Run).where(Run.id == rid).values(horizon=0))
    engine.dispose()
    response = api.post(f"/v1/runs/{rid}/reports", json={"step": 3, "metrics": {"loss": 99.0}})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["effective_step"] == 3
    cached = hub.cache.peek(rid).folded
    hub.cache.drop(rid)
    assert api.get(f"/v1/runs/{rid}/lr", params={"step": 3}).json()["lr"] == answer["values"]["lr"]
    loaded = hub.cache.peek(rid).folded
    assert loaded.latest() == cached.latest()
    assert [loaded.at(s) for s in range(85)] == [cached.at(s) for s in range(85)]
    assert loaded.last_key == cached.last_key
