"""Reports (idempotent, folded, NaN-safe), resume and the reports listing."""

from __future__ import annotations

from typing import Any

from api_support import PLATEAU, assert_problem, make_run


def report(api: Any, rid: int, step: int, loss: Any, **extra: Any) -> Any:
    return api.post(
        f"/v1/runs/{rid}/reports", json={"step": step, "metrics": {"loss": loss}, **extra}
    )


def test_plateau_decision_applies_at_the_reported_step(api: Any) -> None:
    rid = make_run(api, PLATEAU, base_lrs=[1.0])["id"]
    assert api.get(f"/v1/runs/{rid}/window", params={"start": 0, "count": 9}).json()["count"] == 1
    assert report(api, rid, 1, 1.0).json()["decision"] is None
    worse = report(api, rid, 2, 2.0).json()
    assert worse["effective_step"] == 2 and worse["decision"]["kind"] == "plateau"
    assert worse["values"]["lr"] == 0.5 and worse["window"]["start"] == 2
    assert worse["window"]["count"] == 1 and worse["window"]["next_report"] == 3
    assert api.get(f"/v1/runs/{rid}/lr", params={"step": 1}).json()["lr"] == 1.0
    assert api.get(f"/v1/runs/{rid}/lr", params={"step": 2}).json()["lr"] == 0.5
    events = [e["kind"] for e in api.get(f"/v1/runs/{rid}/events").json()["items"]]
    assert "plateau" in events


def test_reports_are_idempotent_and_conflicting_values_are_409(api: Any) -> None:
    rid = make_run(api, PLATEAU, base_lrs=[1.0])["id"]
    report(api, rid, 1, 1.0)
    first = report(api, rid, 2, 3.0).json()
    for _rank in range(3):
        assert report(api, rid, 2, 3.0).json() == first
    assert_problem(report(api, rid, 2, 2.5), 409, "metrics.loss")
    assert len(api.get(f"/v1/runs/{rid}/reports").json()["items"]) == 2
    assert api.get(f"/v1/runs/{rid}/lr", params={"step": 2}).json()["lr"] == 0.5  # one decision


def test_a_late_report_never_changes_promised_values(api: Any) -> None:
    rid = make_run(api, PLATEAU, base_lrs=[1.0])["id"]
    report(api, rid, 1, 1.0)
    api.post(f"/v1/runs/{rid}/advance", json={"count": 10})  # promises steps 0..9
    late = report(api, rid, 2, 5.0).json()
    assert late["effective_step"] == 10 and late["values"]["lr"] == 0.5
    window = api.get(f"/v1/runs/{rid}/window", params={"start": 0, "count": 12}).json()
    assert window["lrs"][0][:10] == [1.0] * 10


def test_non_finite_losses_are_divergence_events_not_crashes(api: Any) -> None:
    rid = make_run(api)["id"]
    for step, loss in ((1, "NaN"), (2, "Infinity"), (3, "-Infinity"), (4, None)):
        answer = report(api, rid, step, loss)
        assert answer.status_code == 200, answer.text
        assert answer.json()["diverged"] is True
    listed = api.get(f"/v1/runs/{rid}/reports").json()["items"]
    assert [r["metrics"]["loss"] for r in listed] == ["NaN", "Infinity", "-Infinity", "NaN"]
    kinds = [e["kind"] for e in api.get(f"/v1/runs/{rid}/events").json()["items"]]
    assert kinds.count("divergence") == 4
    assert report(api, rid, 1, "NaN").status_code == 200  # NaN repeats NaN: idempotent


def test_divergence_guard_stops_the_run(api: Any) -> None:
    spec = {"type": "DivergenceGuard", "schedule": {"type": "ConstantLR", "factor": 1.0}}
    rid = make_run(api, spec)["id"]
    answer = report(api, rid, 1, "NaN").json()
    assert answer["diverged"] is True
    run = api.get(f"/v1/runs/{rid}").json()
    assert run["status"] in ("diverged", "stopped")


def test_resume_refolds_and_keeps_later_reports_for_audit(api: Any) -> None:
    rid = make_run(api, PLATEAU, base_lrs=[1.0])["id"]
    report(api, rid, 1, 1.0)
    report(api, rid, 2, 2.0)  # plateau: lr 0.5 from step 2
    report(api, rid, 3, 3.0)  # again: 0.25 from step 3
    resumed = api.post(f"/v1/runs/{rid}/resume", json={"step": 1})
    assert resumed.status_code == 200
    run = resumed.json()
    assert (run["progress"], run["horizon"], run["next_step"]) == (1, 1, 1)
    window = api.get(f"/v1/runs/{rid}/window", params={"start": 1, "count": 5}).json()
    assert window["lrs"][0] == [1.0] and window["next_report"] == 2
    better = report(api, rid, 2, 0.5).json()  # a different value is allowed after a resume
    assert better["decision"] is None and better["values"]["lr"] == 1.0
    items = api.get(f"/v1/runs/{rid}/reports").json()["items"]
    assert [(r["step"], r["counted"]) for r in items] == [
        (1, True),
        (2, False),
        (2, True),
        (3, False),
    ]
    assert api.get(f"/v1/runs/{rid}/reports", params={"after": 2}).json()["items"][0]["step"] == 3


def test_many_metrics_and_metric_filter(api: Any) -> None:
    rid = make_run(api)["id"]
    api.post(f"/v1/runs/{rid}/reports", json={"step": 1, "metrics": {"loss": 1.0, "acc": 0.5}})
    only_acc = api.get(f"/v1/runs/{rid}/reports", params={"metric": "acc"}).json()["items"]
    assert only_acc == [{"step": 1, "metrics": {"acc": 0.5}, "effective_step": 1, "counted": True}]


def test_range_test_curve_and_suggestions(api: Any) -> None:
    spec = {"type": "LRRangeTest", "start_lr": 1e-4, "end_lr": 1.0, "num_steps": 40}
    rid = make_run(api, spec)["id"]
    for step in range(1, 31):
        lr = api.get(f"/v1/runs/{rid}/lr", params={"step": step - 1}).json()["lr"]
        loss = (lr - 0.05) ** 2 * 100 + 1.0
        assert report(api, rid, step, loss).status_code == 200
    finder = api.get(f"/v1/runs/{rid}/lr-finder").json()
    assert finder["steps"] == list(range(1, 31)) and len(finder["lrs"]) == 30
    assert set(finder["suggestions"]) >= {"steepest", "valley", "minimum", "min_div10"}
    assert 0.01 < finder["suggestions"]["minimum"] < 0.2
    assert_problem(api.get("/v1/runs/999999/lr-finder"), 404)
