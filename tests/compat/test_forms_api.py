"""The library forms over REST: stored with the version they reproduce, refused with the
field named, and a transformers lr_end checked against the attached optimizer's lr."""

from __future__ import annotations

from typing import Any

import pytest

KWARGS = {"lr_end": 0.01, "power": 2.0}
HF = {"type": "transformers", "name": "polynomial", "num_warmup_steps": 2,
      "num_training_steps": 20, "scheduler_specific_kwargs": KWARGS}  # fmt: skip
TIMM = {"type": "timm", "scheduler": "CosineLRScheduler", "t_initial": 10, "warmup_t": 2}


def problem_locs(answer: Any) -> list[str]:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    return [error["loc"] for error in answer.json()["errors"]]


@pytest.mark.parametrize("spec", [HF, TIMM], ids=["transformers", "timm"])
def test_a_stored_form_keeps_its_library_version_and_gets_or_creates(api, spec) -> None:
    first = api.post("/v1/runs", json={"name": "form", "schedule": spec})
    assert first.status_code == 201, first.text
    stored = first.json()["schedule"]
    assert stored["library_version"] in ("5.23", "1.0.31")
    again = api.post("/v1/runs", json={"name": "form", "schedule": {**spec}})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]


@pytest.mark.parametrize(
    ("spec", "loc"),
    [
        ({**HF, "scheduler_specific_kwargs": {"lr_ends": 0.1}},
         "schedule.scheduler_specific_kwargs.lr_ends"),
        ({**TIMM, "decay_rate": 0.5}, "schedule.decay_rate"),
        ({**TIMM, "noise_range_t": 3, "noise_pct": 0.001}, "schedule.noise_pct"),
    ],
)  # fmt: skip
def test_bad_form_arguments_are_a_422_naming_the_field(api, spec, loc) -> None:
    assert loc in problem_locs(api.post("/v1/preview", json={"schedule": spec, "steps": 5,
                                                             "base_lrs": [0.1]}))  # fmt: skip


def test_lr_end_above_the_optimizers_lr_is_refused_at_attach(api) -> None:
    created = api.post("/v1/runs", json={"name": "poly", "schedule": HF})
    run_id = created.json()["id"]
    answer = api.post(f"/v1/runs/{run_id}/attach", json={"base_lrs": [0.005]})
    assert any(loc.endswith("scheduler_specific_kwargs.lr_end") for loc in problem_locs(answer))
    assert api.post(f"/v1/runs/{run_id}/attach", json={"base_lrs": [0.1]}).status_code == 200
