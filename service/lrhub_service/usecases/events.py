"""The audit trail: record events inside a use-case's transaction, list them for a run."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from lrhub_service.db.models import Event, utcnow
from lrhub_service.usecases.errors import run_not_found
from lrhub_service.usecases.hub import Hub
from lrhub_service.usecases.timefmt import iso

log = logging.getLogger("lrhub.events")

EVENT_KINDS = (
    "created",
    "attached",
    "revised",
    "resumed",
    "restarted",
    "plateau",
    "divergence",
    "stopped",
)


async def record(
    conn: AsyncConnection, run_id: int, kind: str, step: int | None, data: dict[str, Any]
) -> None:
    """Append one event (call inside the transaction that made the change)."""
    log.info("%s", kind, extra={"run_id": run_id, "step": step, "event": kind})
    await conn.execute(
        insert(Event).values(run_id=run_id, kind=kind, step=step, data=data, created_at=utcnow())
    )


async def list_events(hub: Hub, run_id: int, *, limit: int, after: int | None) -> dict[str, Any]:
    """Events of a run in order, ``after`` an event id (for paging)."""
    from lrhub_service.usecases.runs import ensure_exists

    query = select(Event.id, Event.kind, Event.step, Event.data, Event.created_at).where(
        Event.run_id == run_id
    )
    if after is not None:
        query = query.where(Event.id > after)
    async with hub.db.autocommit() as conn:
        await ensure_exists(conn, run_id)
        rows = (await conn.execute(query.order_by(Event.id).limit(limit))).all()
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


__all__ = ["EVENT_KINDS", "list_events", "record", "run_not_found"]
