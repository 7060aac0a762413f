"""The OpenAPI document is a contract: typed answers, declared problems, the schedule union."""

from __future__ import annotations

from typing import Any

import pytest
from api_support import make_run

from lrhub_service.api import bodies
from lrhub_service.api.openapi import SCHEDULE_EXAMPLES
from lrhub_service.engine.parse import parse_spec, type_names

PROBLEM = "application/problem+json"


@pytest.fixture
def document(api: Any) -> dict[str, Any]:
    return api.get("/openapi.json").json()  # type: ignore[no-any-return]


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(p, m, op) for p, ops in document["paths"].items() for m, op in ops.items()]


def test_schedule_is_the_engines_discriminated_union(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    union = schemas["Schedule"]
    assert union["discriminator"]["propertyName"] == "type"
    assert sorted(union["discriminator"]["mapping"]) == sorted(type_names())
    assert len(union["oneOf"]) == len(type_names()) == 30
    for name in type_names():  # each type's schema: the class's name (transformers: its form's)
        member = schemas[union["discriminator"]["mapping"][name].rsplit("/", 1)[-1]]
        assert member["properties"]["type"]["const"] == name
        assert "type" in member["required"]
    nested = schemas["SequentialLR"]["properties"]["schedulers"]["items"]
    assert nested == {"$ref": "#/components/schemas/Schedule"}
    create = schemas["CreateRun"]["properties"]["schedule"]
    assert create == {"$ref": "#/components/schemas/Schedule"}
    assert schemas["Run"]["properties"]["schedule"] == {"$ref": "#/components/schemas/Schedule"}


@pytest.mark.parametrize("example", SCHEDULE_EXAMPLES, ids=lambda e: e["type"])
def test_every_schedule_example_is_a_valid_spec(example: dict[str, Any]) -> None:
    assert parse_spec(example).type == example["type"]  # type: ignore[attr-defined]


def test_errors_are_problems_and_fastapis_422_is_gone(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert set(schemas["Problem"]["required"]) == {"type", "title", "status", "detail", "errors"}
    for path, method, operation in _operations(document):
        for status, answer in operation["responses"].items():
            if int(status) >= 400:
                assert list(answer["content"]) == [PROBLEM], (method, path, status)
        if path.startswith("/v1/"):
            assert {"401", "403", "503"} <= set(operation["responses"]), (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "422"} <= set(operation["responses"]), (method, path)
        if "{run_id}" in path:
            assert "404" in operation["responses"], (method, path)
    revise = document["paths"]["/v1/runs/{run_id}/revisions"]["post"]["responses"]
    assert "412" in revise and "409" in revise


def test_every_success_has_a_typed_body(document: dict[str, Any]) -> None:
    for path, method, operation in _operations(document):
        ok = [a for s, a in operation["responses"].items() if s.startswith("2")]
        assert ok, (method, path)
        for answer in ok:
            json_schema = answer["content"].get("application/json", {}).get("schema")
            if path == "/metrics":
                assert list(answer["content"]) == ["text/plain"]
            else:
                assert json_schema and json_schema != {"type": "string"}, (method, path)
    window = document["paths"]["/v1/runs/{run_id}/window"]["get"]["responses"]["200"]
    assert set(window["content"]) == {"application/json", "application/x-lrhub-window"}


def test_real_answers_fit_the_documented_models(api: Any) -> None:
    run = make_run(api)
    bodies.Run.model_validate(run)
    rid = run["id"]
    attached = api.post(f"/v1/runs/{rid}/attach", json={"base_lrs": [0.1]}).json()
    bodies.Attached.model_validate(attached)
    bodies.Value.model_validate(api.get(f"/v1/runs/{rid}/lr", params={"step": 3}).json())
    window = api.get(f"/v1/runs/{rid}/window", params={"start": 0, "count": 4}).json()
    bodies.Window.model_validate(window)
    bodies.Value.model_validate(api.post(f"/v1/runs/{rid}/advance").json())
    bodies.Window.model_validate(api.post(f"/v1/runs/{rid}/advance", json={"count": 3}).json())
    report = api.post(f"/v1/runs/{rid}/reports", json={"step": 1, "metrics": {"loss": "NaN"}})
    bodies.ReportAnswer.model_validate(report.json())
    bodies.ReportPage.model_validate(api.get(f"/v1/runs/{rid}/reports").json())
    bodies.EventPage.model_validate(api.get(f"/v1/runs/{rid}/events").json())
    bodies.RunPage.model_validate(api.get("/v1/runs").json())
    revised = api.post(f"/v1/runs/{rid}/revisions", json={"schedule": {"type": "ConstantLR"}})
    bodies.Revised.model_validate(revised.json())
    bodies.RevisionList.model_validate(api.get(f"/v1/runs/{rid}/revisions").json())
    bodies.FinderCurve.model_validate(api.get(f"/v1/runs/{rid}/lr-finder").json())
    bodies.ProgressAnswer.model_validate(
        api.post(f"/v1/runs/{rid}/progress", json={"step": 2}).json()
    )
    bodies.Ready.model_validate(api.get("/readyz").json())
    missing = api.get("/v1/runs/999999")
    assert missing.headers["content-type"].startswith(PROBLEM)
    bodies.Problem.model_validate(missing.json())


def test_a_schedule_integer_beyond_64_bits_is_a_422_naming_it(api: Any) -> None:
    spec = {"type": "StepLR", "step_size": 2**70}
    answer = api.post("/v1/runs", json={"name": "huge", "schedule": spec})
    assert answer.status_code == 422
    assert "schedule.step_size" in answer.json()["detail"]


def test_metrics_is_plain_text(api: Any, document: dict[str, Any]) -> None:
    declared = document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(declared) == ["text/plain"]
    assert api.get("/metrics").headers["content-type"].startswith("text/plain")


def test_a_trailing_slash_is_redirected_with_a_problem(api: Any) -> None:
    answer = api.get("/v1/runs/?limit=2", follow_redirects=False)
    assert answer.status_code == 308
    assert answer.headers["location"] == "/v1/runs?limit=2"
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert "/v1/runs" in answer.json()["detail"]
    assert api.get("/v1/runs/", follow_redirects=True).status_code == 200
    unknown = api.get("/v1/nothing-here/", follow_redirects=False)
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith(PROBLEM)


def test_405_lists_every_method_of_the_path(api: Any) -> None:
    answer = api.delete("/v1/runs")
    assert answer.status_code == 405
    assert {m.strip() for m in answer.headers["allow"].split(",")} >= {"GET", "POST"}
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert "DELETE" in answer.json()["detail"]


def test_the_documented_body_examples_are_accepted(api: Any, document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    (create,) = schemas["CreateRun"]["examples"]
    assert api.post("/v1/runs", json=create).status_code == 201
    (preview,) = schemas["Preview"]["examples"]
    window = api.post("/v1/preview", json=preview)
    assert window.status_code == 200 and window.json()["count"] == preview["steps"]
