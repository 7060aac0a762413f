"""Helpers for the API tests (imported by name: tests/api is on sys.path)."""

from __future__ import annotations

import itertools
from typing import Any

COSINE = {"type": "CosineAnnealingLR", "T_max": 100, "eta_min": 0.001}
PLATEAU = {"type": "ReduceLROnPlateau", "patience": 0, "factor": 0.5}
_names = itertools.count()


def unique(prefix: str = "run") -> str:
    return f"{prefix}-{next(_names)}"


def make_run(
    api: Any,
    schedule: dict[str, Any] | None = None,
    *,
    name: str | None = None,
    options: dict[str, Any] | None = None,
    base_lrs: list[float] | None = (0.1,),  # type: ignore[assignment]
    base_momentums: list[float] | None = None,
) -> dict[str, Any]:
    """Create a run and (unless base_lrs is None) attach an optimizer to it."""
    body: dict[str, Any] = {"name": name or unique(), "schedule": schedule or COSINE}
    if options:
        body["options"] = options
    response = api.post("/v1/runs", json=body)
    assert response.status_code == 201, response.text
    run = response.json()
    if base_lrs is not None:
        attached = api.post(
            f"/v1/runs/{run['id']}/attach",
            json={"base_lrs": list(base_lrs), "base_momentums": base_momentums},
        )
        assert attached.status_code == 200, attached.text
        run = attached.json()["run"]
    return run


def assert_problem(response: Any, status: int, loc: str | None = None) -> dict[str, Any]:
    """The response is a problem+json with ``status`` (and an error at ``loc``)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["type"].startswith("https://")
    if loc is not None:
        assert loc in [e["loc"] for e in body["errors"]], body
    return body
