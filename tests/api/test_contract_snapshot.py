"""The committed OpenAPI snapshot: current, and no change to it breaks an existing client."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from lrhub_service.api.openapi_snapshot import (
    SNAPSHOT,
    breaking_changes,
    current_document,
    main,
    render,
)

REGENERATE = "python -m lrhub_service.api.openapi_snapshot"


@pytest.fixture(scope="module")
def current() -> dict[str, Any]:
    return current_document()


@pytest.fixture(scope="module")
def snapshot() -> dict[str, Any]:
    return json.loads(SNAPSHOT.read_text())  # type: ignore[no-any-return]


def test_no_breaking_change_against_the_snapshot(
    snapshot: dict[str, Any], current: dict[str, Any]
) -> None:
    assert breaking_changes(snapshot, current) == []


def test_the_snapshot_is_current(current: dict[str, Any]) -> None:
    assert SNAPSHOT.read_text() == render(current), f"stale docs/openapi.json: run {REGENERATE}"


def test_an_identical_document_breaks_nothing(current: dict[str, Any]) -> None:
    assert breaking_changes(current, copy.deepcopy(current)) == []


def test_a_removed_operation_is_breaking(current: dict[str, Any]) -> None:
    changed = copy.deepcopy(current)
    del changed["paths"]["/v1/runs/{run_id}/advance"]["post"]
    assert breaking_changes(current, changed) == [
        "POST /v1/runs/{run_id}/advance: operation removed"
    ]


def test_a_removed_field_and_a_changed_type_are_breaking(current: dict[str, Any]) -> None:
    changed = copy.deepcopy(current)
    del changed["components"]["schemas"]["Value"]["properties"]["lr"]
    changed["components"]["schemas"]["Window"]["properties"]["start"] = {"type": "string"}
    found = breaking_changes(current, changed)
    assert "schema Value: field lr removed" in found
    assert "schema Window: field start changed type" in found


def test_a_new_required_request_field_is_breaking(current: dict[str, Any]) -> None:
    changed = copy.deepcopy(current)
    changed["components"]["schemas"]["Advance"]["required"] = ["count"]
    changed["components"]["schemas"]["Run"]["required"].append("archived")  # a response: fine
    changed["components"]["schemas"]["Run"]["properties"]["archived"] = {"type": "boolean"}
    assert breaking_changes(current, changed) == [
        "schema Advance: request field count is now required"
    ]


def test_a_newly_required_parameter_is_breaking(current: dict[str, Any]) -> None:
    changed = copy.deepcopy(current)
    runs = changed["paths"]["/v1/runs"]["get"]
    next(p for p in runs["parameters"] if p["name"] == "limit")["required"] = True
    assert breaking_changes(current, changed) == ["GET /v1/runs: parameter limit is now required"]


def test_the_script_refuses_a_breaking_snapshot(tmp_path: Any, current: dict[str, Any]) -> None:
    old = copy.deepcopy(current)
    old["paths"]["/v1/gone"] = {"get": {"responses": {}}}
    target = tmp_path / "openapi.json"
    target.write_text(render(old))
    assert main(["--path", str(target)]) == 1
    assert json.loads(target.read_text()) == old
    assert main(["--path", str(target), "--allow-breaking"]) == 0
    assert json.loads(target.read_text()) == current
