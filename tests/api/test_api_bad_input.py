"""Bad input on every endpoint: a 4xx problem naming the field, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from api_support import COSINE, assert_problem, make_run

WRITES = ["attach", "advance", "progress", "reports", "resume", "revisions"]
CODE_EXPRESSIONS = [
    "__import__('os').system('touch /tmp/lrhub-pwned')",
    "().__class__.__bases__[0].__subclasses__()",
    "open('/etc/passwd').read()",
    "exec('1')",
    "lambda: 1",
    "step.__class__",
    "[x for x in range(10**9)]",
    "9 ** 9 ** 9 ** 9",
]


@pytest.fixture
def rid(api: Any) -> int:
    return int(make_run(api, COSINE)["id"])


@pytest.mark.parametrize("path", ["/v1/runs", *[f"/v1/runs/{{rid}}/{w}" for w in WRITES]])
def test_malformed_json_is_400(api: Any, rid: int, path: str) -> None:
    response = api.post(
        path.format(rid=rid),
        content=b'{"name": "x", ',
        headers={"content-type": "application/json"},
    )
    assert_problem(response, 400, "body")


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/v1/runs", {"name": 5, "schedule": COSINE}, "name"),
        ("/v1/runs", {"name": "bad name!", "schedule": COSINE}, "name"),
        ("/v1/runs", {"name": "x", "schedule": "cosine"}, "schedule"),
        ("/v1/runs", {"name": "x", "schedule": COSINE, "extra": 1}, "extra"),
        (
            "/v1/runs",
            {"name": "x", "schedule": COSINE, "options": {"world_size": 0}},
            "options.world_size",
        ),
        (
            "/v1/runs",
            {"name": "x", "schedule": {"type": "CosineAnnealingLR", "T_max": "ten"}},
            "schedule.T_max",
        ),
        (
            "/v1/runs",
            {
                "name": "x",
                "schedule": {
                    "type": "SequentialLR",
                    "milestones": [2],
                    "schedulers": [COSINE, {"type": "StepLR", "step_size": 0}],
                },
            },
            "schedule.schedulers[1].step_size",
        ),
        ("/v1/runs/{rid}/attach", {"base_lrs": []}, "base_lrs"),
        ("/v1/runs/{rid}/attach", {"base_lrs": [-0.1]}, "base_lrs[0]"),
        (
            "/v1/runs/{rid}/attach",
            {"base_lrs": [0.1], "base_momentums": [0.9, 0.9]},
            "base_momentums",
        ),
        ("/v1/runs/{rid}/attach", {"base_lrs": ["a"]}, "base_lrs[0]"),
        ("/v1/runs/{rid}/advance", {"count": 0}, "count"),
        ("/v1/runs/{rid}/advance", {"count": "many"}, "count"),
        ("/v1/runs/{rid}/progress", {"step": -1}, "step"),
        ("/v1/runs/{rid}/progress", {"step": 2**70}, "step"),
        ("/v1/runs/{rid}/progress", {"step": 1, "worker": {"rank": -1}}, "worker.rank"),
        ("/v1/runs/{rid}/reports", {"step": 0, "metrics": {"loss": 1}}, "step"),
        ("/v1/runs/{rid}/reports", {"step": 1, "metrics": {}}, "metrics"),
        ("/v1/runs/{rid}/reports", {"step": 1, "metrics": {"loss": "low"}}, "metrics.loss"),
        ("/v1/runs/{rid}/reports", {"step": 1, "metrics": {"loss": True}}, "metrics.loss"),
        ("/v1/runs/{rid}/resume", {"step": -5}, "step"),
        ("/v1/runs/{rid}/revisions", {"schedule": COSINE, "from_step": -1}, "from_step"),
        (
            "/v1/runs/{rid}/revisions",
            {"schedule": COSINE, "expected_revision": 0},
            "expected_revision",
        ),
        ("/v1/preview", {"schedule": COSINE, "steps": 0}, "steps"),
        ("/v1/preview", {"schedule": COSINE, "steps": 10**7, "base_lrs": [0.1]}, "steps"),
    ],
)
def test_wrong_types_and_ranges_are_422_naming_the_field(
    api: Any, rid: int, path: str, body: Any, loc: str
) -> None:
    assert_problem(api.post(path.format(rid=rid), json=body), 422, loc)


@pytest.mark.parametrize(
    "query",
    [
        "/v1/runs/{rid}/lr?step=-1",
        "/v1/runs/{rid}/lr?step=abc",
        "/v1/runs/{rid}/lr",
        "/v1/runs/{rid}/lr?step=99999999999999999999999999",
        "/v1/runs/{rid}/window?start=-3&count=4",
        "/v1/runs/{rid}/window?start=0&count=0",
        "/v1/runs?limit=0",
        "/v1/runs/{rid}/events?limit=-1",
        "/v1/runs/{rid}/lr-finder?smoothing=2",
        "/v1/runs/abc",
        "/v1/runs/0",
        "/v1/runs/999999999999999999999999",
    ],
)
def test_bad_queries_and_ids_are_422(api: Any, rid: int, query: str) -> None:
    assert_problem(api.get(query.format(rid=rid)), 422)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/runs/424242", None),
        ("GET", "/v1/runs/424242/lr?step=1", None),
        ("GET", "/v1/runs/424242/window?start=0&count=3", None),
        ("GET", "/v1/runs/424242/revisions", None),
        ("GET", "/v1/runs/424242/events", None),
        ("GET", "/v1/runs/424242/reports", None),
        ("POST", "/v1/runs/424242/attach", {"base_lrs": [0.1]}),
        ("POST", "/v1/runs/424242/advance", {}),
        ("POST", "/v1/runs/424242/progress", {"step": 1}),
        ("POST", "/v1/runs/424242/reports", {"step": 1, "metrics": {"loss": 1}}),
        ("POST", "/v1/runs/424242/resume", {"step": 1}),
        ("POST", "/v1/runs/424242/revisions", {"schedule": COSINE}),
    ],
)
def test_unknown_runs_are_404(api: Any, method: str, path: str, body: Any) -> None:
    assert_problem(api.request(method, path, json=body), 404, "run_id")


def test_unknown_route_and_method_are_problems(api: Any) -> None:
    assert_problem(api.get("/v2/nothing"), 404)
    assert_problem(api.delete("/v1/runs"), 405)


@pytest.mark.parametrize("expression", CODE_EXPRESSIONS)
def test_expressions_that_try_to_run_code_are_refused(api: Any, expression: str) -> None:
    for field in ("lr_lambda",):
        spec = {"type": "LambdaLR", field: expression}
        response = api.post("/v1/runs", json={"name": "evil", "schedule": spec})
        assert_problem(response, 422, f"schedule.{field}")
    preview = api.post("/v1/preview", json={"schedule": spec, "steps": 3, "base_lrs": [0.1]})
    assert_problem(preview, 422)


def test_oversized_body_with_content_length_is_413(api_factory: Any) -> None:
    api = api_factory(max_body_bytes=2048)
    big = {"name": "big", "schedule": COSINE, "pad": "x" * 5000}
    assert_problem(api.post("/v1/runs", json=big), 413)


def test_oversized_streamed_body_is_413_without_buffering(api_factory: Any) -> None:
    api = api_factory(max_body_bytes=4096)
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"name": "big", "schedule": {"type": "StepLR", "step_size": 1}, "pad": "'
        for _ in range(1000):
            sent += 1
            yield b"y" * 1024
        yield b'"}'

    response = api.post("/v1/runs", content=chunks(), headers={"content-type": "application/json"})
    assert_problem(response, 413)
    assert api.get("/v1/runs").json()["items"] == []


def test_non_json_content_type_is_a_client_error(api: Any) -> None:
    response = api.post("/v1/runs", content=b"name=x", headers={"content-type": "text/plain"})
    assert 400 <= response.status_code < 500


def test_preview_returns_a_window_and_stores_nothing(api: Any) -> None:
    body = api.post("/v1/preview", json={"schedule": COSINE, "steps": 5, "base_lrs": [0.1, 1.0]})
    assert body.status_code == 200
    window = body.json()
    assert window["count"] == 5 and len(window["lrs"]) == 2 and window["lrs"][1][0] == 1.0
    assert_problem(api.post("/v1/preview", json={"schedule": COSINE, "steps": 5}), 422)
    assert api.get("/v1/runs").json()["items"] == []


@pytest.mark.parametrize(
    "query",
    [
        "/v1/runs/by-name/a%00b",
        "/v1/runs/{rid}/reports?metric=a%00b",
        "/v1/runs/{rid}/lr-finder?metric=a%00b",
        "/v1/runs/{rid}/lr-finder?metric=%F3%B1%A5%B2%12%C3%AF%00",
    ],
)
def test_nul_bytes_never_reach_a_500(api: Any, rid: int, query: str) -> None:
    response = api.get(query.format(rid=rid))  # PostgreSQL refuses NUL in text: a 4xx there
    assert response.status_code < 500, response.text
    if "lr-finder" not in query:
        assert_problem(response, 422)


def test_nul_in_a_worker_host_is_refused(api: Any, rid: int) -> None:
    body = {"step": 1, "worker": {"host": "node\x001"}}
    assert_problem(api.post(f"/v1/runs/{rid}/progress", json=body), 422, "worker.host")
