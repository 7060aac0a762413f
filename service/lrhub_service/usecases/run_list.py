"""Listing runs: newest first, a page at a time, searched and filtered on the server.

A status filter on a stored status (created, stopped, diverged, archived) is a WHERE
clause; ``running``, ``stalled`` and ``finished`` are derived from stored running rows by
the status rule, so their pages are filled from a scan of those rows' status columns.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime, timedelta, timezone
from typing import Any

from lrhub_service.usecases.errors import Conflict, Invalid, Unevaluable
from lrhub_service.usecases.hub import Hub
from lrhub_service.usecases.plan import planned_end
from lrhub_service.usecases.run_json import run_json
from lrhub_service.usecases.status import (
    DERIVED_FROM_RUNNING,
    STALLED_AFTER_S,
    STATUS_ARCHIVED,
    STATUS_RUNNING,
    STATUS_STALLED,
    run_status,
)
from lrhub_service.usecases.values import read_value

BATCH = 2000


def encode_cursor(run_id: int) -> str:
    return base64.urlsafe_b64encode(f"r{run_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith("r"):
            raise ValueError(cursor)
        return int(text[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise Invalid("cursor is not one this server handed out", loc="cursor") from exc


async def _derived(
    runs: Any, limit: int, before: int | None, q: str | None, status: str
) -> tuple[list[Any], bool]:
    """A page of ``running``, ``stalled`` or ``finished`` runs: the stored running rows are
    scanned in batches (only the status rule's columns, bounded by the stall time in SQL),
    then the page's rows are read whole."""
    cutoff = datetime.now(timezone.utc) - timedelta(seconds=STALLED_AFTER_S)
    bounds = {
        STATUS_STALLED: {"updated_before": cutoff},
        STATUS_RUNNING: {"updated_since": cutoff},
    }.get(status, {})
    now, found = datetime.now(timezone.utc), []
    while True:
        rows = await runs.status_inputs(BATCH, before, name_contains=q, **bounds)
        found += [r.id for r in rows if run_status(r, now) == status]
        if len(found) > limit or len(rows) < BATCH:
            return await runs.by_ids(found[:limit]), len(found) > limit
        before = rows[-1].id


async def _page(
    hub: Hub, limit: int, before: int | None, archived: str, q: str | None, status: str | None
) -> tuple[list[Any], bool]:
    """Up to ``limit`` matching rows below ``before``, and whether more follow."""
    async with hub.reading() as (runs, _records):
        if status in DERIVED_FROM_RUNNING:
            return await _derived(runs, limit, before, q, status)
        stored = None
        if status == STATUS_ARCHIVED:
            archived = "only"
        elif status is not None:
            archived, stored = "exclude", (status,)
        rows = await runs.page(limit + 1, before, archived, name_contains=q, statuses=stored)
    return rows[:limit], len(rows) > limit


async def _current_lr(hub: Hub, row: Any) -> float | None:
    """The lr at the run's progress (None before its first attach gives base values)."""
    try:
        return float((await read_value(hub, row.id, max(row.progress, 0)))["lr"])
    except (Conflict, Unevaluable):
        return None


async def _live(hub: Hub, rows: list[Any]) -> list[dict[str, Any]]:
    """Per row: lr at progress, planned steps, last report step, workers seen lately."""
    ids = [r.id for r in rows]
    since = datetime.now(timezone.utc) - timedelta(seconds=hub.settings.delete_active_s)
    async with hub.reading() as (_runs, records):
        last_reports = await records.last_report_steps(ids)
        workers = await records.workers_seen_counts(ids, since)
    return [
        {
            "current_lr": await _current_lr(hub, r),
            "planned_steps": planned_end(r),
            "last_report_step": last_reports.get(r.id),
            "live_workers": workers.get(r.id, 0),
        }
        for r in rows
    ]


async def list_runs(
    hub: Hub,
    *,
    limit: int,
    cursor: str | None,
    archived: str = "exclude",
    q: str | None = None,
    status: str | None = None,
    live: bool = False,
) -> dict[str, Any]:
    """Runs newest first, ``limit`` at a time; ``next_cursor`` pages on.

    ``archived``: ``exclude`` hides archived runs, ``include`` lists them too, ``only``
    lists just them (a ``status`` filter decides this itself). ``q``: part of the name,
    any case. ``live`` adds each run's ``live`` summary (current lr, planned steps, last
    report, workers seen lately).
    """
    before = decode_cursor(cursor) if cursor else None
    rows, more = await _page(hub, limit, before, archived, q, status)
    items = [run_json(r) for r in rows]
    if live:
        for item, summary in zip(items, await _live(hub, rows), strict=True):
            item["live"] = summary
    next_cursor = encode_cursor(rows[-1].id) if more and rows else None
    return {"items": items, "next_cursor": next_cursor}
