"""Routes of a run's lifecycle: archive, unarchive, delete (all under the write scope)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from lrhub_service.api.bodies import Deleted, Run
from lrhub_service.api.problems import declared
from lrhub_service.api.responses import hub_of, json_response, metrics_of
from lrhub_service.api.schemas import MAX_RUN_ID
from lrhub_service.usecases import lifecycle

RunId = Annotated[int, Path(ge=1, le=MAX_RUN_ID, description="the run's id")]
router = APIRouter(prefix="/v1", tags=["runs"])


@router.post("/runs/{run_id}/archive", response_model=Run, responses=declared(404, 409))
async def archive(request: Request, run_id: RunId) -> Response:
    """Archive a run: hidden from lists by default, read-only until unarchived."""
    run = await lifecycle.archive(hub_of(request), run_id)
    return json_response(run, revision=run["revision"])


@router.post("/runs/{run_id}/unarchive", response_model=Run, responses=declared(404, 409))
async def unarchive(request: Request, run_id: RunId) -> Response:
    """Unarchive a run: listed and writable again."""
    run = await lifecycle.unarchive(hub_of(request), run_id)
    return json_response(run, revision=run["revision"])


@router.delete("/runs/{run_id}", response_model=Deleted, responses=declared(404, 409))
async def delete(
    request: Request,
    run_id: RunId,
    force: Annotated[bool, Query(description="delete even while workers were seen lately")] = False,
) -> Response:
    """Delete a run with its whole history (409 while its workers were seen lately)."""
    deleted = await lifecycle.delete(hub_of(request), run_id, force=force)
    metrics_of(request).deleted.inc()
    return json_response(deleted)
