"""Operations: liveness, readiness (database + migrations at head), Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import PlainTextResponse, Response

from lrhub_service.api.bodies import Health, Ready
from lrhub_service.api.problems import declared, problem
from lrhub_service.api.responses import hub_of, json_response, metrics_of
from lrhub_service.usecases import schema

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Response:
    """The process is alive."""
    return json_response({"status": "ok"})


@router.get("/readyz", response_model=Ready, responses=declared(503))
async def readyz(request: Request) -> Response:
    """Ready when the database answers and its schema is at this version's head."""
    hub = hub_of(request)
    head = request.app.state.migration_head
    try:
        current = await schema.served_revision(hub)
    except Exception as exc:
        return problem(503, f"database unreachable or not migrated: {type(exc).__name__}")
    if current != head:
        return problem(
            503, f"database schema is at {current}, this server needs {head}: run lrhub db upgrade"
        )
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
