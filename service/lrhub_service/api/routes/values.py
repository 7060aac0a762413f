"""Routes for values and workers' writes: lr, window, advance, progress, reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from lrhub_service import reports, values
from lrhub_service.api.responses import hub_of, json_response, metrics_of
from lrhub_service.api.routes.runs import RunId
from lrhub_service.api.schemas import (
    MAX_STEP,
    METRIC_PATTERN,
    Advance,
    Progress,
    ReportMetrics,
)

read = APIRouter(prefix="/v1", tags=["values"])
write = APIRouter(prefix="/v1", tags=["values"])
StepQuery = Annotated[int, Query(ge=0, le=MAX_STEP)]


@read.get("/runs/{run_id}/lr")
async def lr_at(request: Request, run_id: RunId, step: StepQuery) -> Response:
    """The values at one step (a read: promises nothing)."""
    body = await values.read_value(hub_of(request), run_id, step)
    return json_response(body, revision=body["revision"])


@read.get("/runs/{run_id}/window")
async def window(
    request: Request,
    run_id: RunId,
    start: StepQuery,
    count: Annotated[int, Query(ge=1, le=1_000_000)] = 1024,
) -> Response:
    """Consecutive steps in columns; the run promises them (its horizon moves to the end)."""
    payload, revision = await values.read_window(hub_of(request), run_id, start, count)
    return Response(payload, media_type="application/json", headers={"ETag": f'"{revision}"'})


@write.post("/runs/{run_id}/advance")
async def advance(request: Request, run_id: RunId, body: Advance | None = None) -> Response:
    """Take the next step(s) of the shared counter atomically."""
    count = body.count if body is not None else 1
    result = await values.advance(hub_of(request), run_id, count)
    metrics_of(request).advances.inc(count)
    return json_response(result, revision=result["revision"])


@write.post("/runs/{run_id}/progress")
async def progress(request: Request, run_id: RunId, body: Progress) -> Response:
    """A worker reached a step; the run's progress is the largest one reported."""
    worker = body.worker.model_dump(exclude_none=True) if body.worker else None
    return json_response(await values.report_progress(hub_of(request), run_id, body.step, worker))


@write.post("/runs/{run_id}/reports")
async def report(request: Request, run_id: RunId, body: ReportMetrics) -> Response:
    """Report metrics at a step (idempotent per step and metric name)."""
    worker = body.worker.model_dump(exclude_none=True) if body.worker else None
    result = await reports.report(
        hub_of(request), run_id, body.step, body.metrics, worker, body.window
    )
    metrics_of(request).reports.inc()
    return json_response(result, revision=result["values"]["revision"])


@read.get("/runs/{run_id}/reports")
async def list_reports(
    request: Request,
    run_id: RunId,
    metric: Annotated[str | None, Query(max_length=100, pattern=METRIC_PATTERN)] = None,
    after: Annotated[int | None, Query(ge=0, le=MAX_STEP)] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> Response:
    """Stored reports (uncounted ones stay, for the audit trail); non-finite as strings."""
    return json_response(
        await reports.list_reports(hub_of(request), run_id, metric=metric, after=after, limit=limit)
    )
