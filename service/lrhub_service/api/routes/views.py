"""Routes of the dashboard's reads: a run's overview (ETag polling), its downsampled
curve and metrics, and a dry-run revision. Reads only: none of them promises values."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response

from lrhub_service.api.problems import declared
from lrhub_service.api.responses import etag_response, hub_of, json_response
from lrhub_service.api.routes.runs import RunId, revision_request
from lrhub_service.api.schemas import MAX_STEP, METRIC_PATTERN, Preview, Revise
from lrhub_service.api.view_bodies import Curve, DryRun, MetricCurves, Overview, RunCurve
from lrhub_service.usecases import revision_preview, run_view
from lrhub_service.usecases.downsample import MAX_POINTS
from lrhub_service.usecases.errors import Invalid

router = APIRouter(prefix="/v1", tags=["dashboard"])
Points = Annotated[int, Query(ge=2, le=MAX_POINTS, description="buckets to return")]
StepBound = Annotated[int | None, Query(ge=0, le=MAX_STEP)]


@router.get("/runs/{run_id}/overview", response_model=Overview, responses=declared(404))
async def overview(request: Request, run_id: RunId) -> Response:
    """The run, its span, workers, revisions and metric names. The ``ETag`` covers progress,
    reports, workers, revisions and status: ``If-None-Match`` answers 304 until one moves."""
    body, tag = await run_view.overview(hub_of(request), run_id)
    return etag_response(request, body, tag)


@router.get("/runs/{run_id}/curve", response_model=RunCurve, responses=declared(404, 409, 422))
async def curve(
    request: Request,
    run_id: RunId,
    points: Points = 600,
    start: StepBound = None,
    end: StepBound = None,
) -> Response:
    """The lr and momentum over ``[start, end)`` (default: the run's whole span) in
    ``points`` buckets, each with the min and max of its samples; the cost follows
    ``points``, not the span. A read: nothing is promised."""
    body = await run_view.curve(hub_of(request), run_id, points, start, end)
    return json_response(body, revision=body["revision"])


@router.get("/runs/{run_id}/reports/curves", response_model=MetricCurves, responses=declared(404))
async def metric_curves(
    request: Request,
    run_id: RunId,
    points: Points = 600,
    metric: Annotated[str | None, Query(max_length=100, pattern=METRIC_PATTERN)] = None,
) -> Response:
    """Counted reports per metric (or one ``metric``) in at most ``points`` step buckets,
    each with the min and max value (computed by the database)."""
    return json_response(await run_view.metric_curves(hub_of(request), run_id, metric, points))


@router.post(
    "/runs/{run_id}/revisions/dry-run",
    response_model=DryRun,
    responses=declared(404, 409, 412),
)
async def dry_run(
    request: Request,
    run_id: RunId,
    body: Revise,
    points: Points = 600,
    if_match: Annotated[str | None, Header(max_length=100)] = None,
) -> Response:
    """Validate a revision and preview its curve from the step it would take effect;
    nothing is stored. The same checks as the revision itself (412, 409, 422)."""
    asked = revision_request(body, if_match)
    result = await revision_preview.dry_run(hub_of(request), run_id, asked, points)
    return json_response(result)


@router.post("/preview/curve", response_model=Curve)
async def preview_curve(request: Request, body: Preview, points: Points = 600) -> Response:
    """A spec's curve over its first ``steps`` steps in ``points`` buckets (min and max
    per bucket); nothing is stored. The cost follows ``points``: ``steps`` may be large."""
    if body.steps > MAX_STEP:
        raise Invalid(f"must be <= {MAX_STEP}", loc="steps")
    curve_body = await revision_preview.spec_curve(
        hub_of(request),
        body.schedule,
        body.steps,
        points,
        body.base_lrs,
        body.base_momentums,
        body.steps_per_epoch,
    )
    return json_response(curve_body)
