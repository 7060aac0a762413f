"""The LR range test's read side: the measured curve and the suggested learning rates."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select

from lrhub_service.compiled import metric_value
from lrhub_service.db.models import Report, Run
from lrhub_service.engine.beyond import range_test_suggestions
from lrhub_service.errors import Conflict, run_not_found
from lrhub_service.hub import Hub
from lrhub_service.reports import json_metric


async def lr_finder(hub: Hub, run_id: int, *, metric: str, group: int, smoothing: float) -> dict[str, Any]:
    """Losses reported at step ``s`` paired with the lr that produced them, ``value[s-1]``."""
    async with hub.db.autocommit() as conn:
        row = (
            await conn.execute(select(Run.revision, Run.state_version).where(Run.id == run_id))
        ).first()
        if row is None:
            raise run_not_found(run_id)
        compiled = await hub.compiled(conn, run_id, row.revision, row.state_version)
        rows = (
            await conn.execute(
                select(Report.step, Report.value, Report.special)
                .where(
                    Report.run_id == run_id, Report.metric == metric, Report.counted.is_(True)
                )
                .order_by(Report.step, Report.version)
            )
        ).all()
    if group >= compiled.schedule.num_groups:
        raise Conflict(
            f"run {run_id} has {compiled.schedule.num_groups} groups; group {group} does not exist",
            loc="group",
        )
    steps, lrs, losses = [], [], []
    for r in rows:
        state = compiled.folded.at(r.step - 1)
        steps.append(r.step)
        lrs.append(compiled.schedule.values(r.step - 1, state).lrs[group])
        losses.append(metric_value(r.value, r.special))
    suggestions = range_test_suggestions(lrs, losses, beta=smoothing) if lrs else {}
    latest = compiled.folded.latest()
    return {
        "run_id": run_id,
        "metric": metric,
        "group": group,
        "steps": steps,
        "lrs": lrs,
        "losses": [json_metric(v) for v in losses],
        "suggestions": {k: v for k, v in suggestions.items() if v is None or math.isfinite(v)},
        "stopped": latest.stopped,
    }
