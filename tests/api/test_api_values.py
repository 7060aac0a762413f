"""Values: single steps, windows (and the horizon they promise), the shared counter."""

from __future__ import annotations

import math
from typing import Any

import torch
from api_support import COSINE, PLATEAU, assert_problem, make_run


def torch_cosine(steps: int, base: float = 0.1) -> list[float]:
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=base)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=100, eta_min=0.001)
    values = []
    for _ in range(steps):
        values.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return values


def test_lr_matches_torch_and_window_matches_lr(api: Any) -> None:
    rid = make_run(api, COSINE, base_lrs=[0.1, 0.05])["id"]
    expected = torch_cosine(40)
    window = api.get(f"/v1/runs/{rid}/window", params={"start": 0, "count": 40})
    assert window.status_code == 200 and window.headers["etag"] == '"1"'
    body = window.json()
    assert body["start"] == 0 and body["count"] == 40 and body["momentums"] is None
    assert body["next_report"] is None and body["stop"] is False
    for k in (0, 1, 17, 39):
        assert math.isclose(body["lrs"][0][k], expected[k], rel_tol=1e-9)
        value = api.get(f"/v1/runs/{rid}/lr", params={"step": k}).json()
        assert value == {
            "step": k,
            "lr": body["lrs"][0][k],
            "lrs": [body["lrs"][0][k], body["lrs"][1][k]],
            "momentum": None,
            "momentums": None,
            "revision": 1,
        }


def test_window_fast_path_and_route_answer_alike(api: Any) -> None:
    rid = make_run(api, COSINE, base_lrs=[0.1, 0.05])["id"]
    fast = api.get(f"/v1/runs/{rid}/window?start=3&count=9")  # well formed: the fast path
    routed = api.get(f"/v1/runs/{rid}/window?count=9&start=3")  # other order: the route
    assert fast.status_code == routed.status_code == 200
    assert fast.json() == routed.json()
    for header in ("content-type", "etag", "vary", "content-length"):
        assert fast.headers[header] == routed.headers[header]
    default = api.get(f"/v1/runs/{rid}/window?start=0").json()
    assert default["count"] == 1024  # count defaults alike on both paths
    assert_problem(api.get(f"/v1/runs/{rid}/window?start=0&count="), 422, "count")
    assert_problem(api.get(f"/v1/runs/{rid}/window?start=0&count=0"), 422, "count")


def test_far_steps_cost_the_same(api: Any) -> None:
    rid = make_run(api, {"type": "StepLR", "step_size": 10, "gamma": 0.5})["id"]
    value = api.get(f"/v1/runs/{rid}/lr", params={"step": 10**9}).json()
    assert value["lr"] == 0.1 * 0.5 ** (10**8) and value["step"] == 10**9


def test_window_extends_the_horizon_but_a_read_does_not(api: Any) -> None:
    rid = make_run(api)["id"]
    api.get(f"/v1/runs/{rid}/lr", params={"step": 500})
    assert api.get(f"/v1/runs/{rid}").json()["horizon"] == 0  # attach promised step 0
    gap = api.get(f"/v1/runs/{rid}/window", params={"start": 10, "count": 20}).json()
    assert gap["promised_through"] is None  # not contiguous with the horizon: no promise
    assert api.get(f"/v1/runs/{rid}").json()["horizon"] == 0
    api.get(f"/v1/runs/{rid}/window", params={"start": 1, "count": 29})
    assert api.get(f"/v1/runs/{rid}").json()["horizon"] == 29
    inside = api.get(f"/v1/runs/{rid}/window", params={"start": 0, "count": 5}).json()
    assert inside["promised_through"] == 4
    assert api.get(f"/v1/runs/{rid}").json()["horizon"] == 29


def test_window_is_capped_by_window_max(api_factory: Any) -> None:
    api = api_factory(window_max=16)
    rid = make_run(api)["id"]
    body = api.get(f"/v1/runs/{rid}/window", params={"start": 0, "count": 1000}).json()
    assert body["count"] == 16 and len(body["lrs"][0]) == 16


def test_metric_driven_window_stops_before_next_report(api: Any) -> None:
    rid = make_run(api, PLATEAU, options={"report_interval": 5})["id"]
    body = api.get(f"/v1/runs/{rid}/window", params={"start": 0, "count": 100}).json()
    assert body["count"] == 5 and body["next_report"] == 5


def test_momentum_columns_for_one_cycle(api: Any) -> None:
    spec = {"type": "OneCycleLR", "max_lr": 1.0, "total_steps": 50}
    rid = make_run(api, spec, base_momentums=[0.9])["id"]
    body = api.get(f"/v1/runs/{rid}/window", params={"start": 0, "count": 10}).json()
    assert body["momentums"] is not None and len(body["momentums"][0]) == 10
    value = api.get(f"/v1/runs/{rid}/lr", params={"step": 3}).json()
    assert value["momentum"] == body["momentums"][0][3] and value["momentums"] is not None


def test_advance_hands_out_consecutive_steps(api: Any) -> None:
    rid = make_run(api)["id"]
    first = api.post(f"/v1/runs/{rid}/advance").json()
    second = api.post(f"/v1/runs/{rid}/advance", json={"count": 1}).json()
    block = api.post(f"/v1/runs/{rid}/advance", json={"count": 4}).json()
    assert (first["step"], second["step"]) == (0, 1)
    assert block["start"] == 2 and block["count"] == 4 and len(block["lrs"][0]) == 4
    assert block["lrs"][0][0] == api.get(f"/v1/runs/{rid}/lr", params={"step": 2}).json()["lr"]
    run = api.get(f"/v1/runs/{rid}").json()
    assert run["next_step"] == 6 and run["horizon"] == 5


def test_advance_on_an_unattached_run_takes_nothing(api: Any) -> None:
    rid = make_run(api, base_lrs=None)["id"]
    assert_problem(api.post(f"/v1/runs/{rid}/advance"), 409)
    api.post(f"/v1/runs/{rid}/attach", json={"base_lrs": [0.1]})
    assert api.post(f"/v1/runs/{rid}/advance").json()["step"] == 0


def test_progress_records_the_worker(api: Any) -> None:
    rid = make_run(api)["id"]
    worker = {"rank": 0, "world_size": 2, "local_rank": 0, "host": "node1", "pid": 42}
    assert api.post(f"/v1/runs/{rid}/progress", json={"step": 7, "worker": worker}).json() == {
        "step": 7
    }
    assert api.get(f"/v1/runs/{rid}").json()["progress"] == 7


def test_expression_schedule_is_evaluated_safely(api: Any) -> None:
    rid = make_run(api, {"type": "LambdaLR", "lr_lambda": "0.95 ** epoch"})["id"]
    value = api.get(f"/v1/runs/{rid}/lr", params={"step": 3}).json()
    assert math.isclose(value["lr"], 0.1 * 0.95**3, rel_tol=1e-12)


def test_a_schedule_that_goes_negative_is_a_422_not_a_500(api: Any) -> None:
    rid = make_run(api, {"type": "LambdaLR", "lr_lambda": "1 - step / 10"})["id"]
    assert api.get(f"/v1/runs/{rid}/lr", params={"step": 5}).status_code == 200
    assert_problem(api.get(f"/v1/runs/{rid}/lr", params={"step": 20}), 422)
    assert_problem(api.get(f"/v1/runs/{rid}/window", params={"start": 5, "count": 20}), 422)
