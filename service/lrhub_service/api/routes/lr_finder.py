"""``GET /v1/runs/{id}/lr-finder``: a range test's curve, stop and suggestions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from lrhub_service.api.bodies import FinderCurve
from lrhub_service.api.problems import declared
from lrhub_service.api.responses import hub_of, json_response
from lrhub_service.api.routes.runs import RunId
from lrhub_service.usecases import lr_finder as use_case

router = APIRouter(prefix="/v1", tags=["lr-finder"])


@router.get("/runs/{run_id}/lr-finder", response_model=FinderCurve, responses=declared(404, 409))
async def lr_finder(
    request: Request,
    run_id: RunId,
    metric: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    group: Annotated[int, Query(ge=0, le=10_000)] = 0,
    smoothing: Annotated[float | None, Query(ge=0, lt=1)] = None,
) -> Response:
    """Reported losses against the lr that produced them, smoothed (debiased EMA), with
    the stop (step, reason, lr) and the suggested learning rates: ``steepest`` (also
    ``suggested_lr``), ``valley``, ``min_div10`` and ``minimum``. ``metric`` and
    ``smoothing`` default to the range test's own."""
    body = await use_case.lr_finder(
        hub_of(request), run_id, metric=metric, group=group, smoothing=smoothing
    )
    return json_response(body)
