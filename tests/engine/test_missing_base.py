"""A missing base lr is a typed engine error (``MissingBaseLR``), raised where it is found:
at the top of a build and by any node that asks its context for base values."""

from __future__ import annotations

from typing import Any

import pytest

from lrhub_service.engine import Segment, SpecError, build_schedule, parse_spec
from lrhub_service.engine.errors import MissingBaseLR
from lrhub_service.engine.node import Context


def _build(spec: dict[str, Any], base_lrs: list[float] | None = None) -> Any:
    segment = Segment(start=0, spec=parse_spec(spec), clock_offset=0, scale=None)
    return build_schedule(segments=[segment], base_lrs=base_lrs)


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "CosineAnnealingLR", "T_max": 10},
        {
            "type": "SequentialLR",
            "schedulers": [{"type": "ConstantLR"}, {"type": "CosineAnnealingLR", "T_max": 5}],
            "milestones": [3],
        },
    ],
)
def test_a_spec_without_base_lr_and_no_optimizer_raises_missing_base_lr(
    spec: dict[str, Any],
) -> None:
    with pytest.raises(MissingBaseLR) as raised:
        _build(spec)
    assert raised.value.errors[0]["loc"] == "base_lr"
    assert "attach an optimizer" in raised.value.errors[0]["msg"]
    assert _build(spec, [0.1]).num_groups == 1  # the optimizer's bases fill it in


def test_a_node_asking_for_bases_names_its_own_field() -> None:
    ctx = Context(num_groups=1, base_lrs=None).child("schedulers", 1)
    with pytest.raises(MissingBaseLR) as raised:
        ctx.require_bases()
    assert raised.value.errors[0]["loc"] == "schedulers[1].base_lr"
    assert Context(num_groups=1, base_lrs=(0.1,)).require_bases() == (0.1,)


def test_other_spec_errors_are_not_missing_base_lr() -> None:
    with pytest.raises(SpecError) as raised:
        _build({"type": "CosineAnnealingLR", "T_max": 10}, [])
    assert not isinstance(raised.value, MissingBaseLR)
