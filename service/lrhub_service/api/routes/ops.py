"""Operations: liveness, readiness (database + migrations at head), Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import PlainTextResponse, Response

from lrhub_service.api.bodies import Health, Ready
from lrhub_service.api.problems import declared, unavailable
from lrhub_service.api.responses import hub_of, json_response, metrics_of
from lrhub_service.usecases import schema
from lrhub_service.usecases.errors import is_unavailable
from lrhub_service.usecases.readiness import schema_problem, unreachable_problem

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Response:
    """The process is alive."""
    return json_response({"status": "ok"})


@router.get("/readyz", response_model=Ready, responses=declared(503))
async def readyz(request: Request) -> Response:
    """Ready when the database answers and its schema is at this version's head."""
    readiness = request.app.state.readiness
    if readiness.problem is not None:  # not ready since it started: the one problem it logged
        return unavailable(readiness.problem)
    hub = hub_of(request)
    head = request.app.state.migration_head
    try:
        current = await schema.served_revision(hub)
    except Exception as exc:
        if is_unavailable(exc):
            return unavailable(unreachable_problem(hub.settings.database_url, exc))
        return unavailable(f"the database cannot be checked: {type(exc).__name__}")
    lagging = schema_problem(current, head)
    if lagging is not None:
        return unavailable(lagging)
    return json_response({"status": "ready", "schema": current})


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    """Prometheus exposition: request latency, advanced steps, reports, runs by status."""
    hub = hub_of(request)
    registry = metrics_of(request)
    try:
        rows = await schema.runs_by_status(hub)
        registry.runs.clear()
        for status, count in rows:
            registry.runs.labels(status).set(count)
    except Exception:
        pass
    return Response(registry.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
