"""The public ``Run`` shape of a stored run row."""

from __future__ import annotations

from typing import Any

from lrhub_service.usecases.status import run_status
from lrhub_service.usecases.timefmt import iso


def run_json(row: Any) -> dict[str, Any]:
    """The public ``Run`` of a runs row."""
    return {
        "id": row.id,
        "name": row.name,
        "schedule": row.schedule,
        "revision": row.revision,
        "options": row.options,
        "base_lrs": row.base_lrs,
        "base_momentums": row.base_momentums,
        "num_groups": row.num_groups,
        "has_momentum": row.has_momentum,
        "metric_driven": row.metric_driven,
        "progress": row.progress,
        "horizon": row.horizon,
        "next_step": row.next_step,
        "status": run_status(row),
        "clean_exit": row.clean_exit,
        "archived_at": iso(row.archived_at),
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }
