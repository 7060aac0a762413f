"""Routes for values and workers' writes: lr, window, advance, progress, reports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from lrhub_service.api.bodies import ProgressAnswer, ReportAnswer, ReportPage, Value, Window
from lrhub_service.api.lr_query import LR_PARAMS, WINDOW_PARAMS, lr_request, window_request
from lrhub_service.api.problems import declared
from lrhub_service.api.responses import (
    hub_of,
    idem_of,
    json_response,
    may_write,
    metrics_of,
    raw_response,
    window_answer,
)
from lrhub_service.api.routes.runs import RunId
from lrhub_service.api.schemas import (
    MAX_STEP,
    METRIC_PATTERN,
    Advance,
    Progress,
    ReportMetrics,
)
from lrhub_service.api.window_codec import WINDOW_MEDIA_TYPE
from lrhub_service.usecases import report_list, reports, values

read = APIRouter(prefix="/v1", tags=["values"])
write = APIRouter(prefix="/v1", tags=["values"])


@read.get(
    "/runs/{run_id}/lr",
    response_model=Value,
    responses=declared(404, 409, 422),
    openapi_extra={"parameters": LR_PARAMS},
)
async def lr_at(request: Request) -> Response:
    """The values at one step (a read: promises nothing)."""
    run_id, step = lr_request(request.path_params["run_id"], request.query_params.get("step"))
    body = await values.read_value(hub_of(request), run_id, step)
    return json_response(body, revision=body["revision"])


@read.get(
    "/runs/{run_id}/window",
    response_model=Window,
    responses={
        200: {"content": {WINDOW_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}},
        **declared(404, 409, 422),
    },
    openapi_extra={"parameters": WINDOW_PARAMS},
)
async def window(request: Request) -> Response:
    """Consecutive steps in columns, promised to a write-scope caller when contiguous.

    The run promises the values (its horizon moves to the window's end) only when the
    caller has the write scope (or no tokens are configured) and ``start <= horizon + 1``;
    ``promised_through`` says the last promised step of the window (null: none).
    ``count`` defaults to 1024 and is capped at the server's window length. A client that
    sends ``Accept: application/x-lrhub-window`` gets float64 columns instead of JSON
    (docs/contracts.md, "Compact window transport"); errors stay problem+json.
    """
    query = request.query_params
    run_id, start, count = window_request(
        request.path_params["run_id"], query.get("start"), query.get("count")
    )
    body, headers = await window_answer(
        hub_of(request),
        run_id,
        start,
        count,
        may_promise=may_write(request),
        accept=request.headers.get("accept"),
    )
    return raw_response(body, headers)


@write.post(
    "/runs/{run_id}/advance",
    response_model=Value | Window,
    responses=declared(404, 409),
)
async def advance(request: Request, run_id: RunId, body: Advance | None = None) -> Response:
    """Take the next step(s) of the shared counter atomically."""
    count = body.count if body is not None else 1
    idem = await idem_of(request, f"advance:{run_id}")
    result = await values.advance(hub_of(request), run_id, count, idem)
    metrics_of(request).advances.inc(count)
    return json_response(result, revision=result["revision"])


@write.post("/runs/{run_id}/progress", response_model=ProgressAnswer, responses=declared(404, 409))
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


@write.post("/runs/{run_id}/reports", response_model=ReportAnswer, responses=declared(404, 409))
async def report(request: Request, run_id: RunId, body: ReportMetrics) -> Response:
    """Report metrics at a step (idempotent per step and metric name)."""
    worker = body.worker.model_dump(exclude_none=True) if body.worker else None
    idem = await idem_of(request, f"report:{run_id}")
    result = await reports.report(
        hub_of(request), run_id, body.step, body.metrics, worker, body.window, idem
    )
    metrics_of(request).reports.inc()
    return json_response(result, revision=result["values"]["revision"])


@read.get("/runs/{run_id}/reports", response_model=ReportPage, responses=declared(404, 409))
async def list_reports(
    request: Request,
    run_id: RunId,
    metric: Annotated[str | None, Query(max_length=100, pattern=METRIC_PATTERN)] = None,
    after: Annotated[int | None, Query(ge=0, le=MAX_STEP)] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> Response:
    """Stored reports (uncounted ones stay, for the audit trail); non-finite as strings."""
    return json_response(
        await report_list.list_reports(
            hub_of(request), run_id, metric=metric, after=after, limit=limit
        )
    )
