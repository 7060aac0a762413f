"""Runs with history for the dashboard's tests and screenshots, written through the real
API of a live server (and one row written straight to SQLite: a name the API refuses)."""

from __future__ import annotations

import math
import sqlite3
from typing import Any

import httpx

XSS = "<script>alert(1)</script>"
FINDER_SPEC = {
    "type": "LRRangeTest",
    "start_lr": 1e-5,
    "end_lr": 10.0,
    "num_steps": 60,
    "smoothing": 0.6,
    "diverge_factor": 4.0,
}


def _ok(answer: httpx.Response) -> dict[str, Any]:
    assert answer.is_success, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _run(client: httpx.Client, name: str, schedule: dict[str, Any], **worker: Any) -> int:
    run_id = int(_ok(client.post("/v1/runs", json={"name": name, "schedule": schedule}))["id"])
    body = {"base_lrs": [0.1], "base_momentums": [0.9], "worker": worker or {"rank": 0}}
    _ok(client.post(f"/v1/runs/{run_id}/attach", json=body))
    return run_id


def _train(client: httpx.Client, run_id: int, steps: range, worker: dict[str, Any]) -> None:
    """Report a falling, noisy loss at each step and the progress after them."""
    for step in steps:
        loss = 2.5 * math.exp(-step / 4000) + 0.2 + 0.05 * math.sin(step / 37)
        body = {"step": step, "metrics": {"loss": loss}, "worker": worker, "window": 1}
        _ok(client.post(f"/v1/runs/{run_id}/reports", json=body))
    body = {"step": steps[-1], "worker": worker}
    _ok(client.post(f"/v1/runs/{run_id}/progress", json=body))


def seed(url: str, headers: dict[str, str] | None = None) -> dict[str, int]:
    """Create the runs the dashboard's pages show; returns their ids by role."""
    ids: dict[str, int] = {}
    with httpx.Client(base_url=url, headers=headers or {}, timeout=30) as client:
        one_cycle = {"type": "OneCycleLR", "max_lr": 0.4, "total_steps": 20_000}
        ids["onecycle"] = _run(client, "resnet50-onecycle", one_cycle, rank=0, host="gpu-a")
        for rank in (0, 1):
            worker = {"rank": rank, "host": f"gpu-{'ab'[rank]}", "pid": 4000 + rank}
            _train(client, ids["onecycle"], range(200, 8_001, 200), worker)
        cosine = {"type": "CosineAnnealingLR", "T_max": 12_000, "eta_min": 1e-4}
        ids["revised"] = _run(client, "bert-cosine", cosine, rank=0, host=XSS)
        _train(client, ids["revised"], range(250, 4_001, 250), {"rank": 0, "host": XSS})
        decay = {"type": "LinearLR", "start_factor": 1.0, "end_factor": 0.05, "total_iters": 6_000}
        revision = {"schedule": decay, "from_step": 5_000, "continue": True, "clock": "restart"}
        _ok(client.post(f"/v1/runs/{ids['revised']}/revisions", json=revision))
        ids["finder"] = _run(client, "mlp-lr-finder", FINDER_SPEC)
        for step in range(1, 41):
            loss = 2.0 - 1.6 / (1 + math.exp(-(step - 18) / 3)) + (0 if step < 34 else step - 33)
            _ok(client.post(f"/v1/runs/{ids['finder']}/reports",
                            json={"step": step, "metrics": {"loss": loss}}))
        plain = {"type": "ExponentialLR", "gamma": 0.9995}
        ids["done"] = _run(client, "vit-small-exp", plain)
        _ok(client.post(f"/v1/runs/{ids['done']}/progress", json={"step": 3_000, "final": True}))
        ids["archived"] = _run(client, "old-baseline", plain)
        _ok(client.post(f"/v1/runs/{ids['archived']}/archive"))
    return ids


def add_script_named_run(sqlite_path: str) -> None:
    """A run whose name is markup, written straight to the database (the API refuses such a
    name; a dashboard must still show one as text)."""
    with sqlite3.connect(sqlite_path) as conn:
        row = conn.execute("SELECT schedule, options, created_at FROM runs LIMIT 1").fetchone()
        conn.execute(
            "INSERT INTO runs (name, schedule, options, revision, has_momentum, metric_driven,"
            " progress, horizon, next_step, state_version, status, created_at, updated_at)"
            " VALUES (?, ?, ?, 1, 0, 0, 0, -1, 0, 0, 'created', ?, ?)",
            (XSS, row[0], row[1], row[2], row[2]),
        )
