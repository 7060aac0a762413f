"""The dashboard's reads: downsampled curves (extremes kept, cost by points), metric
buckets, the overview's ETag, the dry-run revision, runs search and status filters."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from support.runs import create_attached_run

from lrhub_service.engine import parse_spec
from lrhub_service.usecases.compiled import SegmentRecord, build
from lrhub_service.usecases.downsample import downsample
from lrhub_service.usecases.status import run_status

CYCLIC = {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 5}


def test_buckets_keep_each_buckets_extremes_exactly_when_narrow() -> None:
    assert parse_spec(CYCLIC)
    segment = SegmentRecord(revision=1, start=0, schedule=CYCLIC, clock_offset=0, scale=None)
    schedule, _cost = build([segment], [0.01], None, None)
    body = downsample(schedule, 0, 1000, 100)  # buckets of 10 steps: every step sampled
    exact, _ = schedule.window(0, 1000, schedule.initial_state())
    grid = exact[0].reshape(100, 10)
    assert body["bucket"] == 10 and body["steps"][:3] == [0, 10, 20]
    assert np.allclose(body["lr"]["max"][0], grid.max(axis=1))
    assert np.allclose(body["lr"]["min"][0], grid.min(axis=1))


def test_curve_cost_follows_points_not_the_span(api: Any) -> None:
    huge = {"type": "OneCycleLR", "max_lr": 0.4, "total_steps": 10**12}
    run_id = create_attached_run(api, "huge-onecycle", huge)
    horizon = api.get(f"/v1/runs/{run_id}").json()["horizon"]
    started = time.perf_counter()
    answer = api.get(f"/v1/runs/{run_id}/curve", params={"points": 500})
    assert answer.status_code == 200, answer.text
    assert time.perf_counter() - started < 2.0
    body = answer.json()
    assert body["end"] == 10**12 and len(body["steps"]) == 500 and body["bucket"] == 2 * 10**9
    assert max(body["lr"]["max"][0]) == pytest.approx(0.4, rel=1e-6)
    assert body["momentum"] is not None and body["horizon"] == horizon
    assert api.get(f"/v1/runs/{run_id}").json()["horizon"] == horizon  # nothing promised
    bad = api.get(f"/v1/runs/{run_id}/curve", params={"start": 10, "end": 5})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "end"
    assert api.get(f"/v1/runs/{run_id}/curve", params={"points": 1}).status_code == 422


def test_metric_curves_bucket_reports_in_the_database(api: Any) -> None:
    run_id = create_attached_run(api, "metrics", {"type": "StepLR", "step_size": 10})
    for step in range(1, 101):
        value: Any = "NaN" if step == 50 else float(step % 7)
        body = {"step": step, "metrics": {"loss": value, "acc": step / 100}}
        assert api.post(f"/v1/runs/{run_id}/reports", json=body).status_code == 200
    body = api.get(f"/v1/runs/{run_id}/reports/curves", params={"points": 10}).json()
    assert body["metrics"] == ["acc", "loss"]
    loss = body["series"]["loss"]
    assert loss["bucket"] == 10 and loss["steps"][:2] == [1, 11]
    assert loss["min"][0] == 0.0 and loss["max"][0] == 6.0 and sum(loss["nonfinite"]) == 1
    assert body["series"]["acc"]["max"][-1] == 1.0
    one = api.get(f"/v1/runs/{run_id}/reports/curves", params={"metric": "acc"}).json()
    assert list(one["series"]) == ["acc"]


def test_overview_etag_answers_304_until_progress_moves(api: Any) -> None:
    run_id = create_attached_run(api, "polled", {"type": "StepLR", "step_size": 10})
    first = api.get(f"/v1/runs/{run_id}/overview")
    tag = first.headers["etag"]
    assert first.json()["run"]["name"] == "polled"
    again = api.get(f"/v1/runs/{run_id}/overview", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    body = {"step": 5, "worker": {"rank": 3, "host": "h"}}
    assert api.post(f"/v1/runs/{run_id}/progress", json=body).status_code == 200
    moved = api.get(f"/v1/runs/{run_id}/overview", headers={"If-None-Match": tag})
    assert moved.status_code == 200 and moved.headers["etag"] != tag
    assert [w["rank"] for w in moved.json()["workers"]] == [3]


def test_dry_run_validates_previews_and_stores_nothing(api: Any) -> None:
    run_id = create_attached_run(api, "dry", {"type": "CosineAnnealingLR", "T_max": 1000})
    spec = {"type": "ConstantLR", "factor": 0.5, "total_iters": 100}
    dry = api.post(f"/v1/runs/{run_id}/revisions/dry-run", json={"schedule": spec,
                   "from_step": 200}, headers={"If-Match": '"1"'})
    assert dry.status_code == 200, dry.text
    body = dry.json()
    assert body["stored"] is False and body["revision"] == 2 and body["effective_step"] == 200
    assert body["curve"]["start"] == 200 and body["scale"] is not None
    assert len(api.get(f"/v1/runs/{run_id}/revisions").json()["items"]) == 1
    stale = api.post(f"/v1/runs/{run_id}/revisions/dry-run", json={"schedule": spec},
                     headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    bad = api.post(f"/v1/runs/{run_id}/revisions/dry-run",
                   json={"schedule": {"type": "ConstantLR", "factor": -1}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "schedule.factor"
    api.post(f"/v1/runs/{run_id}/progress", json={"step": 300})
    late = {"schedule": spec, "from_step": 200, "from_step_exact": True}
    for path in ("revisions/dry-run", "revisions"):
        refused = api.post(f"/v1/runs/{run_id}/{path}", json=late)
        assert refused.status_code == 409 and refused.json()["errors"][0]["loc"] == "from_step"
        assert "301" in refused.json()["detail"]


def test_runs_list_searches_filters_and_adds_live_details(api: Any) -> None:
    for name in ("alpha-one", "beta-two", "Alpha-three"):
        create_attached_run(api, name, {"type": "OneCycleLR", "max_lr": 0.1, "total_steps": 10})
    done = api.get("/v1/runs/by-name/beta-two").json()["id"]
    api.post(f"/v1/runs/{done}/progress", json={"step": 9})
    found = api.get("/v1/runs", params={"q": "ALPHA", "detail": "live"}).json()["items"]
    assert [r["name"] for r in found] == ["Alpha-three", "alpha-one"]
    assert found[0]["live"]["planned_steps"] == 10 and found[0]["live"]["current_lr"] > 0
    finished = api.get("/v1/runs", params={"status": "finished"}).json()["items"]
    assert [r["name"] for r in finished] == ["beta-two"]
    running = api.get("/v1/runs", params={"status": "running", "limit": 1}).json()
    assert [r["name"] for r in running["items"]] == ["Alpha-three"] and running["next_cursor"]
    page2 = api.get("/v1/runs", params={"status": "running", "cursor": running["next_cursor"]})
    assert [r["name"] for r in page2.json()["items"]] == ["alpha-one"]
    spec = {"type": "LinearLR", "total_iters": 5}
    revised = {"schedule": spec, "from_step": 8, "clock": "restart"}
    answer = api.post(f"/v1/runs/{done}/revisions", json=revised)
    assert answer.status_code == 201
    start = answer.json()["effective_step"]  # the new spec counts from there: 5 more steps
    assert start == 10 and api.get(f"/v1/runs/{done}").json()["status"] == "running"
    live = api.get("/v1/runs", params={"q": "beta", "detail": "live"}).json()["items"][0]
    assert live["live"]["planned_steps"] == start + 5
    listed = api.get("/v1/runs")
    assert api.get("/v1/runs", headers={"If-None-Match": listed.headers["etag"]}).status_code == 304
    assert api.get("/v1/runs", params={"status": "lost"}).status_code == 422


def test_status_rule_derives_stalled_and_finished() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    row = SimpleNamespace(status="running", archived_at=None, clean_exit=None, progress=10,
                          schedule={"type": "OneCycleLR", "total_steps": 100}, options={},
                          updated_at=now - timedelta(seconds=30))
    assert run_status(row, now) == "running"
    assert run_status(SimpleNamespace(**{**vars(row), "updated_at": now - timedelta(hours=1)}),
                      now) == "stalled"
    assert run_status(SimpleNamespace(**{**vars(row), "progress": 99}), now) == "finished"
    assert run_status(SimpleNamespace(**{**vars(row), "clean_exit": True}), now) == "finished"
    restarted = {**vars(row), "progress": 150, "clock_offset": 100}  # a restart-clock revision
    assert run_status(SimpleNamespace(**restarted), now) == "running"
    assert run_status(SimpleNamespace(**{**restarted, "progress": 199}), now) == "finished"
    assert run_status(SimpleNamespace(**{**vars(row), "archived_at": now}), now) == "archived"
    assert run_status(SimpleNamespace(**{**vars(row), "status": "diverged"}), now) == "diverged"
