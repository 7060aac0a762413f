"""Property-based: random specs, metrics and steps never produce a server error."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lrhub_service.engine import type_names

FIELDS = [
    "T_max",
    "eta_min",
    "step_size",
    "gamma",
    "milestones",
    "factor",
    "total_iters",
    "max_lr",
    "total_steps",
    "epochs",
    "steps_per_epoch",
    "base_lr",
    "lr_lambda",
    "schedulers",
    "schedule",
    "warmup_steps",
    "patience",
    "mode",
    "T_0",
    "T_mult",
    "start_factor",
    "end_factor",
    "power",
    "base_momentum",
    "max_momentum",
    "step_size_up",
    "scale_fn",
    "num_steps",
    "start_lr",
    "end_lr",
    "threshold",
    "cooldown",
    "min_lr",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["step", "0.9 ** epoch", "1 / step", "x", "__import__('os')", "", "max"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4)
    ),
    max_leaves=12,
)
VALID = [
    {"type": "CosineAnnealingLR", "T_max": 10},
    {"type": "StepLR", "step_size": 3, "gamma": 0.5},
    {"type": "OneCycleLR", "max_lr": 1.0, "total_steps": 20},
    {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4},
    {"type": "LambdaLR", "lr_lambda": "0.9 ** epoch"},
    {"type": "ReduceLROnPlateau", "patience": 1},
    {"type": "LRRangeTest", "num_steps": 10},
    {
        "type": "SequentialLR",
        "milestones": [5],
        "schedulers": [
            {"type": "LinearLR", "total_iters": 5},
            {"type": "ExponentialLR", "gamma": 0.9},
        ],
    },
]
random_specs = st.builds(
    lambda kind, fields: {"type": kind, **fields},
    st.sampled_from(sorted(type_names())),
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=5),
)
perturbed_specs = st.builds(
    lambda base, fields: {**base, **fields},
    st.sampled_from(VALID),
    st.dictionaries(st.sampled_from(FIELDS), scalars, max_size=1),
)
specs = st.one_of(random_specs, perturbed_specs, st.sampled_from(VALID))
FUZZ = settings(
    max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)


def test_random_specs_never_500(api: Any) -> None:
    names = iter(range(10**6))

    @FUZZ
    @given(spec=specs, steps=st.integers(min_value=1, max_value=50))
    def check(spec: dict[str, Any], steps: int) -> None:
        created = api.post("/v1/runs", json={"name": f"fuzz-{next(names)}", "schedule": spec})
        assert created.status_code < 500, created.text
        preview = api.post(
            "/v1/preview", json={"schedule": spec, "steps": steps, "base_lrs": [0.1, 0.2]}
        )
        assert preview.status_code < 500, preview.text
        if created.status_code in (200, 201):
            rid = created.json()["id"]
            for method, path, body in (
                ("POST", f"/v1/runs/{rid}/attach", {"base_lrs": [0.1, 0.2]}),
                ("GET", f"/v1/runs/{rid}/window?start=0&count={steps}", None),
                ("GET", f"/v1/runs/{rid}/lr?step={steps * 1000003}", None),
                ("POST", f"/v1/runs/{rid}/advance", {"count": steps}),
                ("POST", f"/v1/runs/{rid}/reports", {"step": 1, "metrics": {"loss": "NaN"}}),
                ("POST", f"/v1/runs/{rid}/revisions", {"schedule": spec, "from_step": steps}),
                ("GET", f"/v1/runs/{rid}/lr-finder", None),
            ):
                response = api.request(method, path, json=body)
                assert response.status_code < 500, (path, response.text)

    check()
