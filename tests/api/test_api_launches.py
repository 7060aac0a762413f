"""Launches: the first attach of a launch fixes every rank's start step, and a report point
of a launch is decided once, on the mean of every rank's report (or after the wait)."""

from __future__ import annotations

import time
from typing import Any

from api_support import PLATEAU, assert_problem, make_run


def worker(rank: int, launch: str = "job-1", world_size: int = 2) -> dict[str, Any]:
    return {
        "rank": rank,
        "world_size": world_size,
        "host": "h",
        "pid": 100 + rank,
        "launch": launch,
    }


def attach(api: Any, rid: int, who: dict[str, Any]) -> dict[str, Any]:
    answer = api.post(f"/v1/runs/{rid}/attach", json={"base_lrs": [1.0], "worker": who})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def report(api: Any, rid: int, step: int, loss: Any, who: dict[str, Any]) -> dict[str, Any]:
    body = {"step": step, "metrics": {"loss": loss}, "worker": who}
    answer = api.post(f"/v1/runs/{rid}/reports", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_the_first_attach_of_a_launch_fixes_every_ranks_start_step(api: Any) -> None:
    rid = make_run(api, PLATEAU, base_lrs=None)["id"]
    assert attach(api, rid, worker(0))["start_step"] == 0
    api.post(f"/v1/runs/{rid}/progress", json={"step": 7, "worker": worker(0)})
    late = attach(api, rid, worker(1))  # rank 0 moved on meanwhile: rank 1 starts with it
    assert late["start_step"] == 0 and late["values"]["step"] == 0
    assert late["clean_exit"] is None  # what the launch's first attach saw, not rank 0's run
    again = attach(api, rid, {**worker(0), "pid": 555})  # rank 0 again: a new launch
    assert again["start_step"] == 7
    assert attach(api, rid, {**worker(1), "pid": 556})["start_step"] == 7
    other = attach(api, rid, worker(0, launch="job-2"))
    assert other["start_step"] == 7


def test_a_report_point_waits_for_every_rank_and_decides_on_the_mean(api: Any) -> None:
    rid = make_run(api, PLATEAU, base_lrs=None)["id"]
    for rank in (0, 1):
        attach(api, rid, worker(rank))
    first = report(api, rid, 1, 1.0, worker(0))
    assert first["pending"]["ranks"] == 1 and first["pending"]["world_size"] == 2
    assert first["values"] is None and first["window"] is None
    assert report(api, rid, 1, 1.0, worker(0))["pending"] is not None  # asking again: waits
    window = api.get(f"/v1/runs/{rid}/window", params={"start": 0, "count": 9}).json()
    assert window["count"] == 1 and window["next_report"] == 1  # nothing past the point
    done = report(api, rid, 1, 3.0, worker(1))
    assert done["pending"] is None and done["values"]["lr"] == 1.0
    assert report(api, rid, 1, 1.0, worker(0)) == done  # rank 0 learns the same decision
    listed = api.get(f"/v1/runs/{rid}/reports").json()["items"]
    assert [r["metrics"]["loss"] for r in listed] == [2.0]  # one counted report: the mean
    report(api, rid, 2, 2.5, worker(1))
    worse = report(api, rid, 2, 1.5, worker(0))  # mean 2.0 is no better than 2.0: plateau
    assert worse["decision"]["kind"] == "plateau" and worse["values"]["lr"] == 0.5
    assert report(api, rid, 2, 2.5, worker(1)) == worse


def test_a_rank_cannot_change_its_report_but_ranks_may_differ(api: Any) -> None:
    rid = make_run(api, PLATEAU, base_lrs=None)["id"]
    for rank in (0, 1):
        attach(api, rid, worker(rank))
    report(api, rid, 1, 1.0, worker(0))
    body = {"step": 1, "metrics": {"loss": 2.0}, "worker": worker(0)}
    assert_problem(api.post(f"/v1/runs/{rid}/reports", json=body), 409, "metrics")


def test_a_report_point_decides_without_missing_ranks_after_the_wait(api_factory: Any) -> None:
    api = api_factory(report_wait_s=0.3)
    rid = make_run(api, PLATEAU, base_lrs=None)["id"]
    for rank in (0, 1):
        attach(api, rid, worker(rank))
    assert report(api, rid, 1, 4.0, worker(0))["pending"]["wait_s"] <= 0.3
    time.sleep(0.35)
    decided = report(api, rid, 1, 4.0, worker(0))  # asking again after the wait decides
    assert decided["pending"] is None and decided["effective_step"] == 1
    late = report(api, rid, 1, 100.0, worker(1))  # too late to count: it gets the decision
    assert late["values"] == decided["values"] and late["pending"] is None
    listed = api.get(f"/v1/runs/{rid}/reports").json()["items"]
    assert [r["metrics"]["loss"] for r in listed] == [4.0]


def test_resume_forgets_pending_rank_reports_after_its_step(api: Any) -> None:
    rid = make_run(api, PLATEAU, base_lrs=None)["id"]
    for rank in (0, 1):
        attach(api, rid, worker(rank))
    report(api, rid, 1, 1.0, worker(0))
    api.post(f"/v1/runs/{rid}/resume", json={"step": 0})
    assert report(api, rid, 1, 5.0, worker(0))["pending"]["ranks"] == 1  # a new value is fine


def test_every_rank_loading_one_checkpoint_rewinds_the_run_once(api: Any) -> None:
    rid = make_run(api, PLATEAU, base_lrs=None)["id"]
    for rank in (0, 1):
        attach(api, rid, worker(rank))
    resumed = api.post(f"/v1/runs/{rid}/resume", json={"step": 5, "worker": worker(0)})
    assert resumed.json()["progress"] == 5
    api.post(f"/v1/runs/{rid}/progress", json={"step": 9, "worker": worker(0)})
    again = api.post(f"/v1/runs/{rid}/resume", json={"step": 5, "worker": worker(1)})
    assert again.status_code == 200 and again.json()["progress"] == 9  # rank 0 is not rewound
    kinds = [e["kind"] for e in api.get(f"/v1/runs/{rid}/events").json()["items"]]
    assert kinds.count("resumed") == 1
