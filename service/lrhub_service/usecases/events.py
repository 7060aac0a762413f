"""The audit trail: event kinds, recording inside a write, listing for a run."""

from __future__ import annotations

import enum
import logging
from typing import Any

from lrhub_service.db.records import RunRecords
from lrhub_service.usecases.errors import run_not_found
from lrhub_service.usecases.hub import Hub
from lrhub_service.usecases.timefmt import iso

log = logging.getLogger("lrhub.events")


class EventKind(str, enum.Enum):
    """Every kind of event a run's history can hold."""

    CREATED = "created"
    ATTACHED = "attached"
    REVISED = "revised"
    RESUMED = "resumed"
    RESTARTED = "restarted"
    PLATEAU = "plateau"
    DIVERGENCE = "divergence"
    GREEDY = "greedy"  # a GreedyLR change of the lrs
    STOP = "stop"  # a range test's stop decision (``stopped`` marks the status change)
    STOPPED = "stopped"
    ARCHIVED = "archived"
    UNARCHIVED = "unarchived"
    DELETED = "deleted"  # a log line only: a deleted run's events go with it


async def record(
    records: RunRecords, run_id: int, kind: EventKind, step: int | None, data: dict[str, Any]
) -> None:
    """Append one event (inside the unit of work that made the change)."""
    log.info("%s", kind.value, extra={"run_id": run_id, "step": step, "event": kind.value})
    await records.add_event(run_id, kind.value, step, data)


async def list_events(hub: Hub, run_id: int, *, limit: int, after: int | None) -> dict[str, Any]:
    """Events of a run in order, ``after`` an event id (for paging)."""
    async with hub.reading() as (runs, records):
        if await runs.get(run_id) is None:
            raise run_not_found(run_id)
        rows = await records.events(run_id, limit=limit, after=after)
    items = [
        {
            "id": r.id,
            "kind": r.kind,
            "step": r.step,
            "data": r.data,
            "created_at": iso(r.created_at),
        }
        for r in rows
    ]
    return {"items": items, "next_after": items[-1]["id"] if len(items) == limit else None}
