"""A run's lifecycle: archive (hidden from lists, read-only), unarchive, delete.

All three go through the unit of work like every other write; they are the only writes it
lets through on an archived run (``archived_ok``). Archiving and unarchiving are run events;
a delete takes the run's events with it, so it is a log line (and a count in ``/metrics``).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from lrhub_service.db.models import utcnow
from lrhub_service.usecases import events, unit_of_work
from lrhub_service.usecases.errors import Conflict
from lrhub_service.usecases.events import EventKind
from lrhub_service.usecases.hub import Hub
from lrhub_service.usecases.run_json import run_json
from lrhub_service.usecases.timefmt import iso
from lrhub_service.usecases.unit_of_work import RunWork

log = logging.getLogger("lrhub.events")


async def archive(hub: Hub, run_id: int) -> dict[str, Any]:
    """Archive a run (the ``Run``); archiving an archived run changes nothing."""

    async def act(work: RunWork) -> tuple[int, dict[str, Any]]:
        run = work.run
        if run.archived_at is None:
            await work.rows.update(run_id, archived_at=utcnow())
            await events.record(work.records, run_id, EventKind.ARCHIVED, run.progress, {})
            run = await work.rows.get(run_id)
        return 200, run_json(run)

    _status, run = await unit_of_work.write(hub, run_id, None, act, archived_ok=True)
    return run  # type: ignore[no-any-return]


async def unarchive(hub: Hub, run_id: int) -> dict[str, Any]:
    """Make an archived run listed and writable again (the ``Run``, its status restored)."""

    async def act(work: RunWork) -> tuple[int, dict[str, Any]]:
        run = work.run
        if run.archived_at is not None:
            await work.rows.update(run_id, archived_at=None)
            since = {"archived_at": iso(run.archived_at)}
            await events.record(work.records, run_id, EventKind.UNARCHIVED, run.progress, since)
            run = await work.rows.get(run_id)
        return 200, run_json(run)

    _status, run = await unit_of_work.write(hub, run_id, None, act, archived_ok=True)
    return run  # type: ignore[no-any-return]


async def delete(hub: Hub, run_id: int, *, force: bool) -> dict[str, Any]:
    """Delete a run with its whole history; 409 while its workers were seen lately.

    "Lately" is ``settings.delete_active_s`` (300 s by default); ``force`` deletes anyway.
    Answers what went: ``{"id", "name", "deleted": true, "removed": {table: rows}}``.
    """
    window_s = hub.settings.delete_active_s

    async def act(work: RunWork) -> tuple[int, dict[str, Any]]:
        run = work.run
        if not force:
            since = utcnow() - timedelta(seconds=window_s)
            seen = await work.records.workers_seen_since(run_id, since)
            if seen:
                raise _active(run, seen, window_s)
        removed = await work.records.delete_history(run_id)
        await work.rows.delete(run_id)
        work.changed_values()  # every process drops what it cached of the run
        body = {"id": run.id, "name": run.name, "deleted": True, "forced": force}
        return 200, {**body, "removed": removed}

    _status, body = await unit_of_work.write(hub, run_id, None, act, archived_ok=True)
    log.info(
        "run %d (%r) deleted with its history%s",
        run_id,
        body["name"],
        " (forced)" if force else "",
        extra={"run_id": run_id, "event": EventKind.DELETED.value, "data": body["removed"]},
    )
    return body  # type: ignore[no-any-return]


def _active(run: Any, seen: list[Any], window_s: float) -> Conflict:
    latest = seen[0]
    return Conflict(
        f"run {run.id} ({run.name!r}) has {len(seen)} worker(s) seen in the last "
        f"{window_s:g} s (latest {latest.identity!r} at step {latest.step}, "
        f"{iso(latest.last_seen)}); stop them first, or delete anyway with ?force=true "
        "(lrhub runs delete --force)",
        loc="force",
    )
