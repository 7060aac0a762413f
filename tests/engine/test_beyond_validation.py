"""Beyond-torch specs refuse bad parameters with the field path and the reason."""

from __future__ import annotations

from typing import Any

import pytest

from lrhub_service.engine import Segment, SpecError, build_schedule, canonical_json, parse_spec

COSINE = {"type": "CosineAnnealingLR", "T_max": 10}
BATCH = {"type": "BatchSizeScaling", "reference_batch_size": 256, "batch_size": 512}


def errors_of(spec: dict[str, Any]) -> list[dict[str, str]]:
    with pytest.raises(SpecError) as info:
        parse_spec(spec)
    return info.value.errors


@pytest.mark.parametrize(
    ("spec", "loc", "fragment"),
    [
        ({"type": "Warmup", "schedule": COSINE, "warmup_steps": -1}, "warmup_steps", ">= 0"),
        ({"type": "Warmup", "schedule": COSINE}, "warmup_steps", "required"),
        ({"type": "Warmup", "warmup_steps": 3}, "schedule", "required"),
        (
            {"type": "Warmup", "schedule": COSINE, "warmup_steps": 3, "shape": "cubic"},
            "shape",
            "one of",
        ),
        (
            {"type": "Warmup", "schedule": COSINE, "warmup_steps": 3, "start_factor": 1.5},
            "start_factor",
            "<= 1",
        ),
        (
            {"type": "Warmup", "schedule": COSINE, "warmup_steps": 3, "start_lr": -0.1},
            "start_lr",
            ">= 0",
        ),
        (
            {
                "type": "Warmup",
                "schedule": COSINE,
                "warmup_steps": 3,
                "start_lr": 0.1,
                "start_factor": 0.1,
            },
            "start_lr",
            "not both",
        ),
        (
            {
                "type": "Warmup",
                "schedule": COSINE,
                "warmup_steps": 3,
                "shape": "exponential",
                "start_factor": 0,
            },
            "start_factor",
            "> 0",
        ),
        (
            {
                "type": "Warmup",
                "schedule": COSINE,
                "warmup_steps": 3,
                "shape": "exponential",
                "start_lr": 0.0,
            },
            "start_lr",
            "> 0",
        ),
        ({"type": "Warmup", "schedule": COSINE, "warmup_steps": 3, "ramp": 1}, "ramp", "unknown"),
        ({"type": "SGDR", "T_0": 0}, "T_0", "> 0"),
        ({"type": "SGDR", "T_0": 5, "T_mult": 0.5}, "T_mult", ">= 1"),
        ({"type": "SGDR", "T_0": 5, "restart_decay": 0}, "restart_decay", "> 0"),
        ({"type": "SGDR", "T_0": 5, "restart_decay": 1.5}, "restart_decay", "<= 1"),
        ({"type": "SGDR", "T_0": 5, "eta_min": float("nan")}, "eta_min", "finite"),
        (
            {"type": "WarmupStableDecay", "stable_steps": 1, "decay_steps": 1, "min_lr_ratio": 2},
            "min_lr_ratio",
            "<= 1",
        ),
        (
            {"type": "WarmupStableDecay", "stable_steps": 1, "decay_steps": 1, "decay_shape": "x"},
            "decay_shape",
            "one of",
        ),
        ({"type": "WarmupStableDecay", "stable_steps": 1}, "decay_steps", "required"),
        (
            {
                "type": "WarmupStableDecay",
                "stable_steps": 1,
                "decay_steps": 1,
                "warmup_shape": "exponential",
            },
            "warmup_start_factor",
            "> 0",
        ),
        ({"type": "InverseSqrt", "timescale": 0}, "timescale", "> 0"),
        ({"type": "LRRangeTest", "num_steps": 1}, "num_steps", ">= 2"),
        ({"type": "LRRangeTest", "start_lr": 0.0}, "start_lr", "> 0"),
        ({"type": "LRRangeTest", "start_lr": 1.0, "end_lr": 0.1}, "end_lr", "greater"),
        ({"type": "LRRangeTest", "smoothing": 1.0}, "smoothing", "< 1"),
        ({"type": "LRRangeTest", "diverge_factor": 1.0}, "diverge_factor", "> 1"),
        ({"type": "DivergenceGuard", "schedule": COSINE, "lr_factor": 1.0}, "lr_factor", "< 1"),
        (
            {"type": "DivergenceGuard", "schedule": COSINE, "max_reductions": 0},
            "max_reductions",
            ">= 1",
        ),
        ({"type": "DivergenceGuard", "schedule": COSINE, "metric": ""}, "metric", "at least"),
        (BATCH, "reference_lr", "exactly one"),
        ({**BATCH, "reference_lr": 0.1, "schedule": COSINE}, "reference_lr", "exactly one"),
        ({**BATCH, "reference_lr": 0.1, "batch_size": 0}, "batch_size", "> 0"),
        ({**BATCH, "reference_lr": 0.1, "rule": "cubic"}, "rule", "one of"),
        ({**BATCH, "reference_lr": 0.1, "warmup_threshold": 0.5}, "warmup_threshold", ">= 1"),
        ({"type": "PerEpoch", "schedule": COSINE, "steps_per_epoch": 0}, "steps_per_epoch", "> 0"),
    ],
)
def test_refusals(spec: dict[str, Any], loc: str, fragment: str) -> None:
    errors = errors_of(spec)
    assert any(e["loc"] == loc and fragment in e["msg"] for e in errors), errors


def test_nested_errors_carry_the_full_path() -> None:
    spec = {
        "type": "SequentialLR",
        "milestones": [5],
        "schedulers": [
            {"type": "StepLR", "step_size": 3},
            {
                "type": "Warmup",
                "warmup_steps": 3,
                "schedule": {"type": "SGDR", "T_0": 4, "restart_decay": 2.0},
            },
        ],
    }
    errors = errors_of(spec)
    assert [e["loc"] for e in errors] == ["schedulers[1].schedule.restart_decay"]
    problem = {**spec, "schedulers": [spec["schedulers"][0], {**BATCH}]}
    assert errors_of(problem) == [
        {"loc": "schedulers[1].reference_lr", "msg": "give exactly one of reference_lr or schedule"}
    ]


def test_compile_time_errors_name_the_field() -> None:
    per_epoch = parse_spec({"type": "PerEpoch", "schedule": COSINE, "base_lr": 0.1})
    with pytest.raises(SpecError) as info:
        build_schedule([Segment(0, per_epoch)])
    assert info.value.errors[0]["loc"] == "steps_per_epoch"
    built = build_schedule([Segment(0, per_epoch)], steps_per_epoch=4)
    assert built.values(4, built.initial_state()).lrs == (pytest.approx(0.1 * 0.9755282581),)
    warm = parse_spec(
        {"type": "Warmup", "schedule": COSINE, "warmup_steps": 2, "start_lr": [0.1, 0.2, 0.3]}
    )
    with pytest.raises(SpecError) as info:
        build_schedule([Segment(0, warm)], base_lrs=[1.0, 1.0])
    assert info.value.errors[0]["loc"] == "start_lr"


def test_canonical_json_round_trips() -> None:
    specs = [
        {"type": "Warmup", "schedule": COSINE, "warmup_steps": 3},
        {"type": "SGDR", "T_0": 3, "T_mult": 1.5},
        {"type": "WarmupStableDecay", "stable_steps": 1, "decay_steps": 1},
        {"type": "InverseSqrt"},
        {"type": "LRRangeTest"},
        {"type": "DivergenceGuard", "schedule": COSINE},
        {**BATCH, "reference_lr": 0.1},
        {"type": "PerEpoch", "schedule": COSINE},
    ]
    for spec in specs:
        canonical = canonical_json(parse_spec(spec))
        assert canonical_json(parse_spec(canonical)) == canonical
    assert canonical_json(parse_spec(specs[0]))["start_factor"] == 0.0
