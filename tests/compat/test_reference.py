"""Every transformers name and timm class over the grid: the engine's values equal the
libraries' (the stored reference data always; the live libraries when installed)."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from support.compat_live import LIVE_MISSING, libraries_installed, library_values, library_versions
from support.compat_reference import assert_matches, reference, reference_cases

from lrhub_service.engine import MetricState, Report, Segment, build_schedule, parse_spec
from lrhub_service.engine.compat.timm import TimmSchedule
from lrhub_service.engine.compat.transformers import TransformersSchedule
from lrhub_service.engine.limits import LIMITS, allowed_steps
from lrhub_service.engine.parse import validate_spec

CASES = reference_cases()
live = pytest.mark.skipif(not libraries_installed(), reason=LIVE_MISSING)


def engine_values(case: dict[str, Any]) -> list[list[float]]:
    """The engine's lrs per group per step, metrics reported as the client reports them."""
    sched = build_schedule([Segment(0, parse_spec(case["spec"]))], case["base_lrs"])
    state: MetricState = sched.initial_state()
    metrics = case.get("metrics")
    if metrics is None:
        return sched.window(0, case["steps"], state)[0].tolist()
    rows = [list(sched.values(0, state).lrs)]
    for step in range(1, case["steps"]):
        if metrics[step] is not None:
            state = sched.fold(state, Report(step, {"loss": metrics[step]}))
        rows.append(list(sched.values(step, state).lrs))
    return [list(column) for column in zip(*rows, strict=True)]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_engine_equals_the_reference_data(case: dict[str, Any]) -> None:
    assert_matches(case, engine_values(case), case["lrs"])


@live
def test_the_reference_data_is_what_the_installed_libraries_give() -> None:
    def release(found: dict[str, str]) -> dict[str, str]:
        return {name: version.split("+")[0] for name, version in found.items()}

    versions = reference()["versions"]
    if release(library_versions()) != release(versions):
        pytest.skip(f"reference data is from {versions}, installed {library_versions()}")
    for case in CASES:
        rows = library_values(case)
        assert [[row[g] for row in rows] for g in range(len(rows[0]))] == case["lrs"], case["id"]


@live
@pytest.mark.parametrize("case", CASES[::3], ids=[c["id"] for c in CASES[::3]])
def test_engine_equals_the_live_library(case: dict[str, Any]) -> None:
    rows = library_values(case)
    assert_matches(case, engine_values(case), [[r[g] for r in rows] for g in range(len(rows[0]))])


def test_the_grid_covers_every_name_and_class_with_warmup_cycles_clocks_metrics_and_noise() -> None:
    specs = [c["spec"] for c in CASES]
    names = {s["name"] for s in specs if s["type"] == "transformers"}
    classes = {s["scheduler"] for s in specs if s["type"] == "timm"}
    assert names == set(typing.get_args(TransformersSchedule.model_fields["name"].annotation))
    assert classes == set(typing.get_args(TimmSchedule.model_fields["scheduler"].annotation))
    timm = [s for s in specs if s["type"] == "timm"]
    assert any(s.get("warmup_t") for s in timm) and any(not s.get("warmup_t") for s in timm)
    assert any(s.get("warmup_prefix") for s in timm) and any(s.get("cycle_mul") for s in timm)
    assert any(s.get("t_in_epochs") is False for s in timm)
    assert any(s.get("updates_per_epoch") and s.get("t_in_epochs", True) for s in timm)
    assert any(s.get("noise_range_t") is not None for s in timm)
    assert sum("metrics" in c for c in CASES) >= 10


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_every_form_needs_no_expression_and_fits_the_cost_bounds(case: dict[str, Any]) -> None:
    spec, found = validate_spec(case["spec"])
    assert allowed_steps(found, len(case["base_lrs"])) >= LIMITS.min_steps
    expanded = spec.expand() if spec.type == "timm" else spec.expand(tuple(case["base_lrs"]))
    assert "lr_lambda" not in str(expanded.model_dump()) and "scale_fn" not in str(
        expanded.model_dump()
    )


def test_stored_specs_record_the_library_version_they_reproduce() -> None:
    hf = parse_spec({"type": "transformers", "name": "linear", "num_warmup_steps": 1,
                     "num_training_steps": 9}).model_dump(mode="json")  # fmt: skip
    tm = parse_spec({"type": "timm", "scheduler": "CosineLRScheduler", "t_initial": 5})
    assert hf["library_version"] == "5.23"
    assert tm.model_dump(mode="json")["library_version"] == "1.0.31"
    assert reference()["versions"]["transformers"].startswith(hf["library_version"])
