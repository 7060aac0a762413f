"""The shared counter against a real ``lrhub serve``: a refused advance takes nothing, and
a block is capped at the window length with its answer saying how many steps it holds."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from api_support import COSINE, assert_problem, unique

BROKEN_AT_3 = {"type": "LambdaLR", "lr_lambda": "1/(step-3)+1"}


def attached_run(api: httpx.Client, schedule: dict[str, Any]) -> int:
    rid = int(api.post("/v1/runs", json={"name": unique("adv"), "schedule": schedule}).json()["id"])
    assert api.post(f"/v1/runs/{rid}/attach", json={"base_lrs": [0.1]}).status_code == 200
    return rid


def counters(api: httpx.Client, rid: int) -> tuple[int, int]:
    run = api.get(f"/v1/runs/{rid}").json()
    return int(run["next_step"]), int(run["horizon"])


def assert_refused_at(answer: httpx.Response, rid: int, step: int) -> None:
    body = assert_problem(answer, 422, "schedule")
    assert f"at step {step}" in body["detail"]
    assert f'"from_step": {step}' in body["detail"]
    assert f"/v1/runs/{rid}/revisions" in body["detail"]


def test_a_refused_advance_takes_nothing(live_server: Any, database_url: str) -> None:
    server = live_server(database_url)
    with httpx.Client(base_url=server.url, timeout=30) as api:
        rid = attached_run(api, BROKEN_AT_3)
        assert [api.post(f"/v1/runs/{rid}/advance").json()["step"] for _ in range(3)] == [0, 1, 2]
        key = {"Idempotency-Key": uuid.uuid4().hex}
        for _ in range(2):  # a refusal is not remembered: the retry is evaluated again
            assert_refused_at(api.post(f"/v1/runs/{rid}/advance", headers=key), rid, 3)
            assert counters(api, rid) == (3, 2)
        assert_refused_at(api.post(f"/v1/runs/{rid}/advance", json={"count": 5}), rid, 3)
        assert counters(api, rid) == (3, 2)
        revised = api.post(
            f"/v1/runs/{rid}/revisions",
            json={
                "schedule": {"type": "ConstantLR", "factor": 0.5},
                "from_step": 3,
                "continue": False,
            },
        )
        assert revised.status_code == 201 and revised.json()["effective_step"] == 3
        taken = api.post(f"/v1/runs/{rid}/advance", headers=key)
        assert taken.status_code == 200, taken.text
        assert taken.json()["step"] == 3 and counters(api, rid) == (4, 3)


def test_a_block_reaching_a_bad_step_is_refused_whole(live_server: Any, database_url: str) -> None:
    server = live_server(database_url)
    with httpx.Client(base_url=server.url, timeout=30) as api:
        rid = attached_run(api, BROKEN_AT_3)
        assert_refused_at(api.post(f"/v1/runs/{rid}/advance", json={"count": 10}), rid, 3)
        assert counters(api, rid)[0] == 0  # the horizon may cover the computable steps 0-2
        window = api.get(f"/v1/runs/{rid}/window", params={"start": 0, "count": 10})
        assert_refused_at(window, rid, 3)
        assert counters(api, rid)[0] == 0
        assert api.post(f"/v1/runs/{rid}/advance", json={"count": 3}).json()["count"] == 3


def test_advance_and_window_counts_are_capped(live_server: Any, database_url: str) -> None:
    caps = {"LRHUB_WINDOW_MAX": "16", "LRHUB_ADVANCE_MAX": "16"}
    server = live_server(database_url, env=caps)
    with httpx.Client(base_url=server.url, timeout=30) as api:
        rid = attached_run(api, COSINE)
        block = api.post(f"/v1/runs/{rid}/advance", json={"count": 1_000_000}).json()
        assert block["start"] == 0 and block["count"] == 16 and len(block["lrs"][0]) == 16
        assert block["promised_through"] == 15
        assert counters(api, rid) == (16, 15)
        window = api.get(f"/v1/runs/{rid}/window", params={"start": 16, "count": 1000}).json()
        assert window["count"] == 16 and window["promised_through"] == 31
