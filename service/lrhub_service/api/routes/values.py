"""Routes for values and workers' writes: lr, window, advance, progress, reports."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from lrhub_service.api.responses import hub_of, idem_of, json_response, metrics_of
from lrhub_service.api.routes.runs import RunId
from lrhub_service.api.schemas import (
    MAX_STEP,
    METRIC_PATTERN,
    Advance,
    Progress,
    ReportMetrics,
)
from lrhub_service.api.window_codec import render_window, wants_window_binary
from lrhub_service.usecases import reports, values
from lrhub_service.usecases.errors import Invalid

read = APIRouter(prefix="/v1", tags=["values"])
write = APIRouter(prefix="/v1", tags=["values"])


def _integer(raw: str | None, loc: str, low: int, high: int = MAX_STEP) -> int:
    """Parse one integer parameter by hand (the hot routes skip FastAPI's param machinery)."""
    if raw is None:
        raise Invalid("Field required", loc=loc)
    try:
        value = int(raw)
    except ValueError:
        raise Invalid("Input should be a valid integer", loc=loc) from None
    if not low <= value <= high:
        raise Invalid(f"Input should be between {low} and {high}", loc=loc)
    return value


def _param(name: str, where: str, low: int, high: int, required: bool = True) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": required,
        "schema": {"type": "integer", "minimum": low, "maximum": high},
    }


RUN_ID_PARAM = _param("run_id", "path", 1, 2**62)


@read.get(
    "/runs/{run_id}/lr",
    openapi_extra={"parameters": [RUN_ID_PARAM, _param("step", "query", 0, MAX_STEP)]},
)
async def lr_at(request: Request) -> Response:
    """The values at one step (a read: promises nothing)."""
    run_id = _integer(request.path_params["run_id"], "run_id", 1, 2**62)
    step = _integer(request.query_params.get("step"), "step", 0)
    body = await values.read_value(hub_of(request), run_id, step)
    return json_response(body, revision=body["revision"])


@read.get(
    "/runs/{run_id}/window",
    openapi_extra={
        "parameters": [
            RUN_ID_PARAM,
            _param("start", "query", 0, MAX_STEP),
            _param("count", "query", 1, 1_000_000, required=False),
        ]
    },
)
async def window(request: Request) -> Response:
    """Consecutive steps in columns; the run promises them (its horizon moves to the end).

    ``count`` defaults to 1024 and is capped at the server's window length. A client that
    sends ``Accept: application/x-lrhub-window`` gets float64 columns instead of JSON
    (docs/contracts.md, "Compact window transport"); errors stay problem+json.
    """
    query = request.query_params
    run_id = _integer(request.path_params["run_id"], "run_id", 1, 2**62)
    start = _integer(query.get("start"), "start", 0)
    count = _integer(query.get("count", "1024"), "count", 1, 1_000_000)
    payload, revision = await values.read_window(hub_of(request), run_id, start, count)
    body, media_type = render_window(payload, wants_window_binary(request.headers.get("accept")))
    headers = {"ETag": f'"{revision}"', "Vary": "Accept"}
    return Response(body, media_type=media_type, headers=headers)


@write.post("/runs/{run_id}/advance")
async def advance(request: Request, run_id: RunId, body: Advance | None = None) -> Response:
    """Take the next step(s) of the shared counter atomically."""
    count = body.count if body is not None else 1
    idem = await idem_of(request, f"advance:{run_id}")
    result = await values.advance(hub_of(request), run_id, count, idem)
    metrics_of(request).advances.inc(count)
    return json_response(result, revision=result["revision"])


@write.post("/runs/{run_id}/progress")
async def progress(request: Request, run_id: RunId, body: Progress) -> Response:
    """A worker reached a step; the run's progress is the largest one reported.

    ``final: true`` says the worker exited cleanly (see ``clean_exit`` on the run).
    """
    worker = body.worker.model_dump(exclude_none=True) if body.worker else None
    idem = await idem_of(request, f"progress:{run_id}")
    result = await values.report_progress(
        hub_of(request), run_id, body.step, worker, final=body.final, idem=idem
    )
    return json_response(result)


@write.post("/runs/{run_id}/reports")
async def report(request: Request, run_id: RunId, body: ReportMetrics) -> Response:
    """Report metrics at a step (idempotent per step and metric name)."""
    worker = body.worker.model_dump(exclude_none=True) if body.worker else None
    idem = await idem_of(request, f"report:{run_id}")
    result = await reports.report(
        hub_of(request), run_id, body.step, body.metrics, worker, body.window, idem
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
