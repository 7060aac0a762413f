"""Stored metric values: their storage and JSON forms, and the reports listing."""

from __future__ import annotations

import math
from typing import Any

from lrhub_service.usecases.errors import run_not_found
from lrhub_service.usecases.folding import metric_value
from lrhub_service.usecases.hub import Hub


def split_value(value: float) -> tuple[float | None, str | None]:
    """A metric as (finite value, None) or (None, "nan" | "inf" | "-inf") for storage."""
    if math.isnan(value):
        return None, "nan"
    if math.isinf(value):
        return None, "inf" if value > 0 else "-inf"
    return value, None


def json_metric(value: float) -> float | str:
    """JSON has no NaN/Infinity: non-finite metrics go out as "NaN", "Infinity", "-Infinity"."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


async def list_reports(
    hub: Hub, run_id: int, *, metric: str | None, after: int | None, limit: int
) -> dict[str, Any]:
    """Stored reports in step order, grouped per request; uncounted ones are kept for audit."""
    async with hub.reading() as (runs, records):
        if await runs.get(run_id) is None:
            raise run_not_found(run_id)
        rows = await records.report_page(run_id, metric=metric, after=after, limit=limit)
    items: list[dict[str, Any]] = []
    last: tuple[int, int] | None = None
    for row in rows:
        if last != (row.step, row.version):
            items.append(
                {
                    "step": row.step,
                    "metrics": {},
                    "effective_step": row.effective_step,
                    "counted": row.counted,
                }
            )
            last = (row.step, row.version)
        items[-1]["metrics"][row.metric] = json_metric(metric_value(row.value, row.special))
    next_after = rows[-1].step if len(rows) == limit else None
    return {"items": items, "next_after": next_after}
