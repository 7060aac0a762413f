"""``lrhub runs list|show`` on the server side: read the database through the use cases."""

from __future__ import annotations

import json

from lrhub_service.bootstrap import close_hub, open_hub
from lrhub_service.settings import Settings
from lrhub_service.usecases import events, runs
from lrhub_service.usecases.errors import NotFound

RECENT_EVENTS = 20


async def list_runs_text(settings: Settings, limit: int) -> str:
    """A table of the newest ``limit`` runs."""
    hub = await open_hub(settings, fast_path=False)
    try:
        page = await runs.list_runs(hub, limit=limit, cursor=None)
    finally:
        await close_hub(hub)
    lines = [f"{'id':>6}  {'name':<32} {'status':<9} {'rev':>4} {'progress':>10}  schedule"]
    for run in page["items"]:
        lines.append(
            f"{run['id']:>6}  {run['name'][:32]:<32} {run['status']:<9} {run['revision']:>4} "
            f"{run['progress']:>10}  {run['schedule'].get('type')}"
        )
    return "\n".join(lines)


async def show_run_json(settings: Settings, name_or_id: str) -> str | None:
    """The run (by id or name) with its recent events, as indented JSON; None if unknown."""
    hub = await open_hub(settings, fast_path=False)
    try:
        try:
            if name_or_id.isdigit():
                run = await runs.get_run(hub, int(name_or_id))
            else:
                run = await runs.get_run_by_name(hub, name_or_id)
        except NotFound:
            return None
        history = await events.list_events(hub, run["id"], limit=10_000, after=None)
    finally:
        await close_hub(hub)
    recent = history["items"][-RECENT_EVENTS:]
    run["recent_events"] = [
        {key: event[key] for key in ("id", "kind", "step", "data")} for event in recent
    ]
    return json.dumps(run, indent=2, default=str)
