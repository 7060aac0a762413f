"""Worker identities: the last step each (host, pid, rank) reported."""

from __future__ import annotations

from typing import Any

from lrhub_service.db.records import RunRecords


def identity_of(worker: dict[str, Any]) -> str:
    """A stable key for a worker: host, pid and rank."""
    return f"{worker.get('host') or '?'}:{worker.get('pid') or '?'}:{worker.get('rank', '?')}"


async def touch_worker(
    records: RunRecords, run_id: int, worker: dict[str, Any] | None, step: int
) -> None:
    """Record the step the worker reached (nothing when the request named no worker)."""
    if worker is not None:
        await records.touch_worker(run_id, identity_of(worker), worker, step)
