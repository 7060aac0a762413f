"""Over REST, a mistyped schedule type or field gets a 422 that suggests the nearest name."""

from __future__ import annotations

from api_support import assert_problem, unique


def test_a_misspelt_type_is_a_422_suggesting_the_type(api) -> None:
    body = {"name": unique(), "schedule": {"type": "CosineAnealingLR", "T_max": 10}}
    problem = assert_problem(api.post("/v1/runs", json=body), 422, "schedule.type")
    message = next(e["msg"] for e in problem["errors"] if e["loc"] == "schedule.type")
    assert message.startswith(
        "unknown type 'CosineAnealingLR'; did you mean CosineAnnealingLR? valid types: "
    )
    assert "did you mean CosineAnnealingLR?" in problem["detail"]


def test_a_misspelt_field_is_a_422_suggesting_the_field(api) -> None:
    body = {"name": unique(), "schedule": {"type": "CosineAnnealingLR", "T_maxx": 10}}
    problem = assert_problem(api.post("/v1/runs", json=body), 422, "schedule.T_maxx")
    assert {
        "loc": "schedule.T_maxx",
        "msg": (
            "unknown field; did you mean T_max? "
            "CosineAnnealingLR takes: base_lr, T_max, eta_min, periodic"
        ),
    } in problem["errors"]


def test_preview_suggests_too(api) -> None:
    body = {"schedule": {"type": "StepRL", "step_size": 2}, "steps": 4}
    problem = assert_problem(api.post("/v1/preview", json=body), 422, "schedule.type")
    assert "did you mean StepLR?" in problem["detail"]
