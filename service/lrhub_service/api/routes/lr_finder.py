"""``GET /v1/runs/{id}/lr-finder``: a range test's curve and suggestions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from lrhub_service import lr_finder as use_case
from lrhub_service.api.auth import require_read
from lrhub_service.api.responses import hub_of, json_response
from lrhub_service.api.routes.runs import RunId

router = APIRouter(prefix="/v1", tags=["lr-finder"], dependencies=[Depends(require_read)])


@router.get("/runs/{run_id}/lr-finder")
async def lr_finder(
    request: Request,
    run_id: RunId,
    metric: Annotated[str, Query(min_length=1, max_length=100)] = "loss",
    group: Annotated[int, Query(ge=0, le=10_000)] = 0,
    smoothing: Annotated[float, Query(ge=0, lt=1)] = 0.98,
) -> Response:
    """Reported losses against the lr that produced them, with suggested learning rates."""
    body = await use_case.lr_finder(
        hub_of(request), run_id, metric=metric, group=group, smoothing=smoothing
    )
    return json_response(body)
