"""A mistyped schedule type or field name gets the nearest valid name as a suggestion."""

from __future__ import annotations

from typing import Any

import pytest

from lrhub_service.engine import SpecError, parse_spec


def only_error(data: Any) -> dict[str, str]:
    with pytest.raises(SpecError) as info:
        parse_spec(data)
    assert len(info.value.errors) == 1, info.value.errors
    return info.value.errors[0]


def test_a_misspelt_type_suggests_the_nearest_type() -> None:
    error = only_error({"type": "CosineAnealingLR", "T_max": 10})
    assert error["loc"] == "type"
    assert error["msg"].startswith(
        "unknown type 'CosineAnealingLR'; did you mean CosineAnnealingLR? valid types: LambdaLR, "
    )


def test_a_type_in_the_wrong_case_suggests_its_spelling() -> None:
    error = only_error({"type": "onecyclelr", "max_lr": 0.1, "total_steps": 10})
    assert "did you mean OneCycleLR?" in error["msg"]


def test_a_nested_misspelt_type_is_suggested_at_its_path() -> None:
    cos = {"type": "CosineAnnealingLR", "T_max": 10}
    error = only_error(
        {"type": "SequentialLR", "schedulers": [cos, {"type": "StepRL"}], "milestones": [5]}
    )
    assert error["loc"] == "schedulers[1].type"
    assert "did you mean StepLR?" in error["msg"]


def test_a_name_like_no_type_gets_no_suggestion() -> None:
    error = only_error({"type": "Banana"})
    assert error["msg"].startswith("unknown type 'Banana'; valid types: LambdaLR")
    assert "did you mean" not in error["msg"]


def test_a_misspelt_field_suggests_the_nearest_field() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec({"type": "CosineAnnealingLR", "T_maxx": 10})
    assert info.value.errors == [
        {"loc": "T_max", "msg": "field required"},
        {
            "loc": "T_maxx",
            "msg": "unknown field; did you mean T_max? "
            "CosineAnnealingLR takes: base_lr, T_max, eta_min, periodic",
        },
    ]


def test_an_unrelated_field_lists_the_fields_without_a_guess() -> None:
    error = only_error({"type": "StepLR", "step_size": 2, "zzz": 1})
    assert error["loc"] == "zzz"
    assert error["msg"].startswith("unknown field; StepLR takes: ")
    assert "did you mean" not in error["msg"]
