"""Published limits: GET /v1/limits, 422s that name the field and the limit, capped windows
and advances whose answer says how many steps they hold, refusals counted in /metrics."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from faults_support import COSINE, metric_value, problem_of
from starlette.requests import Request
from support.runs import create_attached_run

from bench.flood import create_runs
from lrhub_service.api.problems import on_spec_error
from lrhub_service.engine import LIMITS, SpecError, allowed_steps, validate_spec

HEAVY_PRODUCT = {"type": "MultiplicativeLR", "lr_lambda": "min(1," + "x," * 200 + "x)"}


def test_limits_are_served_and_declared_in_openapi(api_factory: Any) -> None:
    api = api_factory(window_max=512, advance_max=64)
    limits = api.get("/v1/limits")
    assert limits.status_code == 200
    body = limits.json()
    assert body["window_max"] == 512 and body["advance_max"] == 64
    assert body["eval_timeout_s"] > 0
    assert body["budget_ms"] == LIMITS.budget_us / 1000  # the engine's, served with the caps
    assert body["max_nodes"] == LIMITS.max_nodes and body["coefficients"]["types"]
    operation = api.get("/openapi.json").json()["paths"]["/v1/limits"]
    assert set(operation) == {"get"}  # read-only
    schema = operation["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/LimitsBody")


def test_window_and_advance_are_capped_and_say_how_many_steps(api_factory: Any) -> None:
    api = api_factory(window_max=100, advance_max=40)
    run_id = create_attached_run(api, "capped", COSINE)
    window = api.get(f"/v1/runs/{run_id}/window", params={"start": 0, "count": 5000}).json()
    assert window["count"] == 100 and len(window["lrs"][0]) == 100
    advanced = api.post(f"/v1/runs/{run_id}/advance", json={"count": 1_000_000}).json()
    assert advanced["count"] == 40 and len(advanced["lrs"][0]) == 40
    assert api.get(f"/v1/runs/{run_id}").json()["next_step"] == 40


def test_a_window_is_capped_to_the_engines_cpu_budget(api_factory: Any) -> None:
    api = api_factory()
    cycle = {"type": "OneCycleLR", "max_lr": 0.1, "total_steps": 10_000}
    wide = {"type": "ChainedScheduler", "schedulers": [cycle] * LIMITS.max_children}
    created = api.post("/v1/runs", json={"name": "budget", "schedule": wide})
    assert created.status_code == 201, created.text
    run_id = int(created.json()["id"])
    attached = api.post(f"/v1/runs/{run_id}/attach", json={"base_lrs": [0.1] * 8})
    assert attached.status_code == 200, attached.text
    allowed = allowed_steps(validate_spec(wide)[1], 8, fresh=True)
    assert 1 <= allowed < 4096
    window = api.get(f"/v1/runs/{run_id}/window", params={"start": 0, "count": 4096}).json()
    assert window["count"] == allowed and len(window["lrs"][0]) == allowed
    advanced = api.post(f"/v1/runs/{run_id}/advance", json={"count": 4096}).json()
    assert advanced["count"] == allowed


def test_over_a_limit_is_a_422_naming_the_field_and_the_limit(api_factory: Any) -> None:
    api = api_factory(preview_max_steps=1000)
    too_long = api.post("/v1/preview", json={"schedule": COSINE, "steps": 1001, "base_lrs": [1]})
    assert too_long.status_code == 422
    problem = problem_of(too_long)
    assert problem["errors"][0]["loc"] == "steps" and "1000" in problem["errors"][0]["msg"]

    cycle = {"type": "OneCycleLR", "max_lr": 0.1, "total_steps": 1000}
    dear = {"type": "ChainedScheduler", "schedulers": [cycle] * LIMITS.max_children}
    allowed = allowed_steps(validate_spec(dear)[1], 64, fresh=True)
    body = {"schedule": dear, "steps": allowed + 1, "base_lrs": [0.1] * 64}
    over = api.post("/v1/preview", json=body)
    assert over.status_code == 422  # over the engine's CPU budget: refused before evaluating
    problem = problem_of(over)
    assert problem["errors"][0]["loc"] == "steps"
    assert f"at most {allowed} steps" in problem["errors"][0]["msg"]
    assert "50 ms" in problem["errors"][0]["msg"]

    heavy = api.post("/v1/runs", json={"name": "heavy-product", "schedule": HEAVY_PRODUCT})
    assert heavy.status_code == 422  # the engine's cost limits refuse it when it is stored
    problem = problem_of(heavy)
    assert problem["errors"][0]["loc"] == "schedule.lr_lambda"
    assert "at most 200 operations" in problem["errors"][0]["msg"]

    metrics = api.get("/metrics").text
    assert metric_value(metrics, "lrhub_refused_requests_total", 'reason="limit"') >= 1
    assert "lrhub_event_loop_lag_seconds_count" in metrics


def test_a_step_without_a_value_is_a_422_naming_the_step_and_the_way_forward() -> None:
    error = SpecError("division by zero", "lr_lambda")
    error.step = 3  # type: ignore[attr-defined]  # the engine names the first bad step
    answer = asyncio.run(on_spec_error(Request({"type": "http", "headers": []}), error))
    assert answer.status_code == 422
    body = json.loads(bytes(answer.body))
    assert {"loc": "lr_lambda", "msg": "division by zero"} in body["errors"]
    step_error = next(e for e in body["errors"] if e["loc"] == "step")
    assert "step 3" in step_error["msg"] and "revisions" in step_error["msg"]


@pytest.mark.slow
def test_a_busy_evaluator_sheds_with_503_and_counts_it(live_server: Any, tmp_path: Path) -> None:
    env = {"LRHUB_EVAL_QUEUE": "0", "LRHUB_EVAL_TIMEOUT_S": "10"}
    server = live_server(f"sqlite:///{tmp_path / 'shed.db'}", env=env)
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        run_id = create_runs(client)["expressions"]
        path = f"/v1/runs/{run_id}/window"

        def window(start: int) -> httpx.Response:
            with httpx.Client(base_url=server.url, timeout=30.0) as own:
                return own.get(path, params={"start": start * 5000, "count": 4000})

        with concurrent.futures.ThreadPoolExecutor(12) as pool:  # more than the worker keeps up
            answers = list(pool.map(window, range(12)))
        metrics = client.get("/metrics").text
    statuses = sorted(a.status_code for a in answers)
    assert 200 in statuses and 503 in statuses, statuses
    for answer in answers:
        if answer.status_code == 503:
            assert answer.headers["retry-after"] == "1"
            problem_of(answer)
    shed = metric_value(metrics, "lrhub_shed_requests_total", 'reason="queue_full"')
    assert shed == statuses.count(503)
