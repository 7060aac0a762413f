"""Test helper shared by every suite: a stored run with one attached parameter group."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def create_attached_run(
    client: Any, name: str, schedule: dict[str, Any], base_lrs: Sequence[float] = (0.1,)
) -> int:
    """Create ``name`` and attach ``base_lrs``; return its id (``client``: httpx or TestClient)."""
    created = client.post("/v1/runs", json={"name": name, "schedule": schedule})
    assert created.status_code == 201, created.text
    run_id = int(created.json()["id"])
    attached = client.post(f"/v1/runs/{run_id}/attach", json={"base_lrs": list(base_lrs)})
    assert attached.status_code == 200, attached.text
    return run_id
