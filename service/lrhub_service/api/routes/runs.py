"""Routes for runs: create/read/list, attach, revisions, resume, events."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from starlette.responses import Response

from lrhub_service.api.bodies import Attached, EventPage, Revised, RevisionList, Run, RunPage
from lrhub_service.api.problems import declared
from lrhub_service.api.responses import etag_response, hub_of, idem_of, json_response
from lrhub_service.api.schemas import (
    MAX_RUN_ID,
    RUN_NAME_PATTERN,
    Attach,
    CreateRun,
    Resume,
    Revise,
)
from lrhub_service.usecases import attach as attaching
from lrhub_service.usecases import events, revisions, run_list, runs
from lrhub_service.usecases import resume as resuming
from lrhub_service.usecases.errors import Invalid
from lrhub_service.usecases.status import STATUSES

Status = Literal[STATUSES]  # type: ignore[valid-type]  # the status rule's list
RunId = Annotated[int, Path(ge=1, le=MAX_RUN_ID, description="the run's id")]
read = APIRouter(prefix="/v1", tags=["runs"])
write = APIRouter(prefix="/v1", tags=["runs"])


@write.post(
    "/runs",
    status_code=201,
    response_model=Run,
    responses={
        200: {"model": Run, "description": "the existing run of that name"},
        **declared(409),
    },
)
async def create_run(request: Request, body: CreateRun) -> Response:
    """Get-or-create a run by name (201 new, 200 existing, 409 different spec)."""
    run, created = await runs.create_run(
        hub_of(request),
        body.name,
        body.schedule,
        body.options.model_dump(exclude_none=True),
        body.restart,
        await idem_of(request, "create"),
    )
    return json_response(run, 201 if created else 200, revision=run["revision"])


@read.get("/runs", response_model=RunPage)
async def list_runs(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=100, pattern=r"^[A-Za-z0-9_-]*$")] = None,
    archived: Annotated[Literal["exclude", "include", "only"], Query()] = "exclude",
    q: Annotated[str | None, Query(max_length=200, description="part of the name (any case)")] = (
        None
    ),
    status: Annotated[Status | None, Query(description="one status (the status rule)")] = None,
    detail: Annotated[Literal["live"] | None, Query(description="add each run's live")] = None,
) -> Response:
    """Runs, newest first; archived runs only with ``archived=include`` or ``only`` (or
    ``status=archived``). The ``ETag`` changes with the page; ``If-None-Match`` gets 304."""
    listed = await run_list.list_runs(
        hub_of(request),
        limit=limit,
        cursor=cursor,
        archived=archived,
        q=q or None,
        status=status,
        live=detail == "live",
    )
    return etag_response(request, listed)


@read.get("/runs/by-name/{name}", response_model=Run, responses=declared(404, 409))
async def get_run_by_name(
    request: Request,
    name: Annotated[str, Path(min_length=1, max_length=200, pattern=RUN_NAME_PATTERN)],
) -> Response:
    run = await runs.get_run_by_name(hub_of(request), name)
    return json_response(run, revision=run["revision"])


@read.get("/runs/{run_id}", response_model=Run, responses=declared(404, 409))
async def get_run(request: Request, run_id: RunId) -> Response:
    run = await runs.get_run(hub_of(request), run_id)
    return json_response(run, revision=run["revision"])


@write.post("/runs/{run_id}/attach", response_model=Attached, responses=declared(404, 409))
async def attach(request: Request, run_id: RunId, body: Attach) -> Response:
    """Join a run with an optimizer's base values; answers the step to continue from."""
    result = await attaching.attach(
        hub_of(request),
        run_id,
        body.base_lrs,
        body.base_momentums,
        body.worker.model_dump(exclude_none=True) if body.worker else None,
        await idem_of(request, f"attach:{run_id}"),
    )
    return json_response(result, revision=result["run"]["revision"])


def revision_request(body: Revise, if_match: str | None) -> revisions.RevisionRequest:
    """The revision a body and its ``If-Match`` ask for (they must not disagree)."""
    expected = if_match_revision(if_match)
    if expected is not None and body.expected_revision not in (None, expected):
        raise Invalid("If-Match and expected_revision disagree", loc="expected_revision")
    return revisions.RevisionRequest(
        schedule=body.schedule,
        from_step=body.from_step,
        from_step_exact=body.from_step_exact,
        continue_value=body.continue_,
        clock=body.clock,
        expected_revision=expected if expected is not None else body.expected_revision,
    )


def if_match_revision(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None
    text = value.strip().removeprefix("W/").strip('"')
    try:
        revision = int(text)
    except ValueError as exc:
        raise Invalid('If-Match must be a revision ETag such as "3"', loc="If-Match") from exc
    if revision < 1:
        raise Invalid("If-Match must name a revision >= 1", loc="If-Match")
    return revision


@write.post(
    "/runs/{run_id}/revisions",
    status_code=201,
    response_model=Revised,
    responses=declared(404, 409, 412),
)
async def revise(
    request: Request,
    run_id: RunId,
    body: Revise,
    if_match: Annotated[str | None, Header(max_length=100)] = None,
) -> Response:
    """Replace the schedule from a future step (never before the horizon)."""
    asked = revision_request(body, if_match)
    idem = await idem_of(request, f"revise:{run_id}")
    result = await revisions.revise(hub_of(request), run_id, asked, idem)
    return json_response(result, 201, revision=result["revision"])


@read.get("/runs/{run_id}/revisions", response_model=RevisionList, responses=declared(404, 409))
async def list_revisions(request: Request, run_id: RunId) -> Response:
    return json_response(await revisions.list_revisions(hub_of(request), run_id))


@write.post("/runs/{run_id}/resume", response_model=Run, responses=declared(404, 409))
async def resume(request: Request, run_id: RunId, body: Resume) -> Response:
    """Set the run back to a checkpoint's step; later reports stop counting."""
    run = await resuming.resume(
        hub_of(request),
        run_id,
        body.step,
        body.worker.model_dump(exclude_none=True) if body.worker else None,
        await idem_of(request, f"resume:{run_id}"),
    )
    return json_response(run, revision=run["revision"])


@read.get("/runs/{run_id}/events", response_model=EventPage, responses=declared(404, 409))
async def list_events(
    request: Request,
    run_id: RunId,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[int | None, Query(ge=0, le=MAX_RUN_ID)] = None,
) -> Response:
    """The run's audit trail, oldest first."""
    return json_response(
        await events.list_events(hub_of(request), run_id, limit=limit, after=after)
    )
