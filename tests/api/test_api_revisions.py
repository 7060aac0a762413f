"""Revisions: effective step after the horizon, no jump with continue, preconditions."""

from __future__ import annotations

import math
from typing import Any

from api_support import COSINE, assert_problem, make_run

CONSTANT = {"type": "ConstantLR", "factor": 1.0, "total_iters": 0}


def revise(api: Any, rid: int, schedule: dict[str, Any], **body: Any) -> Any:
    headers = body.pop("headers", None)
    return api.post(
        f"/v1/runs/{rid}/revisions", json={"schedule": schedule, **body}, headers=headers
    )


def test_a_promise_is_never_broken(api: Any) -> None:
    rid = make_run(api, COSINE)["id"]
    promised = api.get(f"/v1/runs/{rid}/window", params={"start": 0, "count": 50}).json()
    answer = revise(
        api,
        rid,
        {"type": "ConstantLR", "factor": 0.5, "total_iters": 10**6},
        from_step=10,
        **{"continue": False},
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["revision"] == 2 and body["effective_step"] == 50
    assert answer.headers["etag"] == '"2"'
    after = api.get(f"/v1/runs/{rid}/window", params={"start": 0, "count": 60}).json()
    assert after["lrs"][0][:50] == promised["lrs"][0]
    assert after["lrs"][0][50:] == [0.05] * 10 and after["revision"] == 2


def test_future_revision_keeps_from_step_and_continue_avoids_a_jump(api: Any) -> None:
    rid = make_run(api, COSINE)["id"]
    before = api.get(f"/v1/runs/{rid}/lr", params={"step": 30}).json()["lr"]
    answer = revise(api, rid, CONSTANT, from_step=30).json()
    assert answer["effective_step"] == 30
    at = api.get(f"/v1/runs/{rid}/lr", params={"step": 30}).json()["lr"]
    later = api.get(f"/v1/runs/{rid}/lr", params={"step": 80}).json()["lr"]
    assert math.isclose(at, before, rel_tol=1e-12) and math.isclose(later, before, rel_tol=1e-12)


def test_clock_restart_starts_the_new_spec_at_zero(api: Any) -> None:
    rid = make_run(api, {"type": "ConstantLR", "factor": 1.0, "total_iters": 0})["id"]
    step_spec = {"type": "StepLR", "step_size": 5, "gamma": 0.5}
    revise(api, rid, step_spec, from_step=100, clock="restart", **{"continue": False})
    window = api.get(f"/v1/runs/{rid}/window", params={"start": 99, "count": 7}).json()
    assert window["lrs"][0] == [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05]


def test_if_match_and_expected_revision_preconditions(api: Any) -> None:
    rid = make_run(api, COSINE)["id"]
    assert revise(api, rid, CONSTANT, headers={"If-Match": '"1"'}).status_code == 201
    stale = revise(api, rid, COSINE, headers={"If-Match": '"1"'})
    assert_problem(stale, 412, "expected_revision")
    assert_problem(revise(api, rid, COSINE, expected_revision=1), 412)
    assert revise(api, rid, COSINE, expected_revision=2).status_code == 201
    assert_problem(revise(api, rid, COSINE, headers={"If-Match": "abc"}), 422, "If-Match")
    assert revise(api, rid, CONSTANT, headers={"If-Match": "*"}).json()["revision"] == 4


def test_revision_history_and_event(api: Any) -> None:
    rid = make_run(api, COSINE)["id"]
    revise(api, rid, CONSTANT, from_step=20)
    items = api.get(f"/v1/runs/{rid}/revisions").json()["items"]
    assert [(i["revision"], i["effective_step"]) for i in items] == [(1, 0), (2, 20)]
    assert items[1]["schedule"]["type"] == "ConstantLR" and items[1]["continue"] is True
    run = api.get(f"/v1/runs/{rid}").json()
    assert run["revision"] == 2 and run["schedule"]["type"] == "ConstantLR"
    kinds = [e["kind"] for e in api.get(f"/v1/runs/{rid}/events").json()["items"]]
    assert kinds[-1] == "revised"
    same_name = api.post("/v1/runs", json={"name": run["name"], "schedule": COSINE})
    assert same_name.status_code == 200  # ranks still get-or-create with the original spec


def test_an_earlier_revision_replaces_a_later_pending_one(api: Any) -> None:
    rid = make_run(api, {"type": "ConstantLR", "factor": 1.0, "total_iters": 0})["id"]
    revise(
        api,
        rid,
        {"type": "ConstantLR", "factor": 0.5, "total_iters": 10**9},
        from_step=100,
        **{"continue": False},
    )
    revise(
        api,
        rid,
        {"type": "ConstantLR", "factor": 0.1, "total_iters": 10**9},
        from_step=50,
        **{"continue": False},
    )
    assert math.isclose(api.get(f"/v1/runs/{rid}/lr", params={"step": 150}).json()["lr"], 0.01)


def test_bad_revisions(api: Any) -> None:
    rid = make_run(api, COSINE)["id"]
    assert_problem(
        revise(api, rid, {"type": "CosineAnnealingLR", "T_max": -1}), 422, "schedule.T_max"
    )
    assert_problem(revise(api, rid, {"type": "Nope"}), 422)
    assert_problem(revise(api, rid, CONSTANT, clock="sideways"), 422, "clock")
    assert_problem(revise(api, 999999, CONSTANT), 404)
    zero = {"type": "LambdaLR", "lr_lambda": "0 * step"}
    assert_problem(revise(api, rid, zero, from_step=5), 422, "continue")
    assert api.get(f"/v1/runs/{rid}").json()["revision"] == 1


def test_two_processes_never_serve_a_stale_cache(api_factory: Any) -> None:
    # two apps, one database, separate caches; without the LISTEN/NOTIFY read cache every
    # read checks the run's versions, so a write through one is seen at once by the other
    # (tests/api/test_api_read_cache.py covers the cache and its window)
    first, second = api_factory(read_cache=False), api_factory(read_cache=False)
    rid = make_run(first, COSINE)["id"]
    assert second.get(f"/v1/runs/{rid}/lr", params={"step": 60}).json()["revision"] == 1
    first.get(f"/v1/runs/{rid}/window", params={"start": 0, "count": 20})
    revise(
        first,
        rid,
        {"type": "ConstantLR", "factor": 0.5, "total_iters": 10**6},
        **{"continue": False},
    )
    value = second.get(f"/v1/runs/{rid}/lr", params={"step": 60}).json()
    assert value["revision"] == 2 and math.isclose(value["lr"], 0.05)
    window = second.get(f"/v1/runs/{rid}/window", params={"start": 0, "count": 30}).json()
    assert window["revision"] == 2 and window["lrs"][0][20:] == [0.05] * 10
    first.post(f"/v1/runs/{rid}/resume", json={"step": 5})
    assert second.get(f"/v1/runs/{rid}").json()["horizon"] == 5
