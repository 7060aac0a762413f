"""Runs: get-or-create by name, conflicts, restart, reads, listing, attach."""

from __future__ import annotations

from typing import Any

from api_support import COSINE, assert_problem, make_run, unique


def test_create_is_get_or_create_by_name(api: Any) -> None:
    name = unique()
    first = api.post("/v1/runs", json={"name": name, "schedule": COSINE})
    again = api.post("/v1/runs", json={"name": name, "schedule": dict(COSINE)})
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert first.headers["etag"] == '"1"'
    run = first.json()
    assert run["schedule"]["type"] == "CosineAnnealingLR" and run["schedule"]["T_max"] == 100
    assert (run["revision"], run["progress"], run["horizon"], run["status"]) == (
        1,
        0,
        -1,
        "created",
    )


def test_same_name_different_spec_is_409(api: Any) -> None:
    name = unique()
    api.post("/v1/runs", json={"name": name, "schedule": COSINE})
    other = api.post("/v1/runs", json={"name": name, "schedule": {**COSINE, "T_max": 7}})
    body = assert_problem(other, 409, "schedule")
    assert name in body["detail"] and "different schedule" in body["detail"]
    options = api.post(
        "/v1/runs", json={"name": name, "schedule": COSINE, "options": {"world_size": 2}}
    )
    assert_problem(options, 409, "options")


def test_defaults_make_specs_equal(api: Any) -> None:
    name = unique()
    api.post("/v1/runs", json={"name": name, "schedule": {"type": "StepLR", "step_size": 3}})
    same = api.post(
        "/v1/runs",
        json={"name": name, "schedule": {"type": "StepLR", "step_size": 3, "gamma": 0.1}},
    )
    assert same.status_code == 200


def test_restart_resets_progress_counter_and_reports(api: Any) -> None:
    run = make_run(api, {"type": "ReduceLROnPlateau", "patience": 0})
    rid = run["id"]
    api.get(f"/v1/runs/{rid}/window", params={"start": 0, "count": 1})
    api.post(f"/v1/runs/{rid}/reports", json={"step": 1, "metrics": {"loss": 1.0}})
    api.post(f"/v1/runs/{rid}/reports", json={"step": 2, "metrics": {"loss": 2.0}})
    api.post(f"/v1/runs/{rid}/advance", json={"count": 5})
    before = api.get(f"/v1/runs/{rid}").json()
    assert before["progress"] == 2 and before["next_step"] == 5
    restarted = api.post(
        "/v1/runs", json={"name": run["name"], "schedule": run["schedule"], "restart": True}
    )
    assert restarted.status_code == 200
    after = restarted.json()
    assert (after["progress"], after["horizon"], after["next_step"]) == (0, -1, 0)
    assert api.get(f"/v1/runs/{rid}/lr", params={"step": 2}).json()["lr"] == 0.1
    reports = api.get(f"/v1/runs/{rid}/reports").json()["items"]
    assert [r["counted"] for r in reports] == [False, False]
    kinds = [e["kind"] for e in api.get(f"/v1/runs/{rid}/events").json()["items"]]
    assert kinds[-1] == "restarted"


def test_read_by_id_and_name_and_unknown(api: Any) -> None:
    run = make_run(api)
    assert api.get(f"/v1/runs/{run['id']}").json()["name"] == run["name"]
    assert api.get(f"/v1/runs/by-name/{run['name']}").json()["id"] == run["id"]
    assert_problem(api.get("/v1/runs/999999"), 404, "run_id")
    assert_problem(api.get("/v1/runs/by-name/nope"), 404, "name")


def test_list_is_paginated_newest_first(api: Any) -> None:
    ids = [make_run(api, base_lrs=None)["id"] for _ in range(5)]
    page = api.get("/v1/runs", params={"limit": 2}).json()
    assert [r["id"] for r in page["items"]] == ids[::-1][:2]
    seen = [r["id"] for r in page["items"]]
    while page["next_cursor"]:
        page = api.get("/v1/runs", params={"limit": 2, "cursor": page["next_cursor"]}).json()
        seen += [r["id"] for r in page["items"]]
    assert seen == ids[::-1]
    assert_problem(api.get("/v1/runs", params={"cursor": "garbage!"}), 422, "cursor")


def test_attach_stores_bases_once_and_checks_group_count(api: Any) -> None:
    created = api.post("/v1/runs", json={"name": unique(), "schedule": COSINE}).json()
    rid = created["id"]
    assert_problem(api.get(f"/v1/runs/{rid}/lr", params={"step": 0}), 409)
    first = api.post(f"/v1/runs/{rid}/attach", json={"base_lrs": [0.1, 0.2]})
    assert first.status_code == 200
    body = first.json()
    assert body["start_step"] == 0 and body["values"]["lrs"] == [0.1, 0.2]
    assert body["run"]["num_groups"] == 2 and body["run"]["status"] == "running"
    again = api.post(f"/v1/runs/{rid}/attach", json={"base_lrs": [0.5, 0.5]}).json()
    assert again["values"]["lrs"] == [0.1, 0.2]  # the first attach's bases stand
    assert_problem(api.post(f"/v1/runs/{rid}/attach", json={"base_lrs": [0.1]}), 409, "base_lrs")


def test_attach_continues_from_progress(api: Any) -> None:
    run = make_run(api)
    rid = run["id"]
    assert api.post(f"/v1/runs/{rid}/progress", json={"step": 40}).json() == {"step": 40}
    assert api.post(f"/v1/runs/{rid}/progress", json={"step": 30}).json() == {"step": 40}
    attached = api.post(
        f"/v1/runs/{rid}/attach",
        json={"base_lrs": [0.1], "worker": {"rank": 1, "world_size": 2, "host": "n1", "pid": 7}},
    ).json()
    assert attached["start_step"] == 40
    assert attached["values"] == api.get(f"/v1/runs/{rid}/lr", params={"step": 40}).json()
    assert attached["run"]["horizon"] >= 40


def test_spec_from_the_spec_needs_no_attach(api: Any) -> None:
    run = make_run(api, {"type": "StepLR", "step_size": 2, "base_lr": [1.0, 2.0]}, base_lrs=None)
    assert run["num_groups"] == 2
    value = api.get(f"/v1/runs/{run['id']}/lr", params={"step": 2}).json()
    assert value["lrs"] == [0.1, 0.2]
