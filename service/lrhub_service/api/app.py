"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import metadata
from typing import Any

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from lrhub_service.api import docs, problems
from lrhub_service.api.auth import AuthMiddleware
from lrhub_service.api.fastread import FastReadMiddleware
from lrhub_service.api.middleware import BodyLimitMiddleware, EdgeMiddleware
from lrhub_service.api.openapi import build_openapi
from lrhub_service.api.readiness import ReadinessGate
from lrhub_service.api.responses import OrjsonResponse
from lrhub_service.api.routes import lifecycle, limits, lr_finder, ops, preview, runs, values
from lrhub_service.api.routing import TrailingSlashMiddleware, on_method_not_allowed
from lrhub_service.bootstrap import close_hub, open_hub
from lrhub_service.observability import LoopLagMonitor, Metrics
from lrhub_service.settings import Settings
from lrhub_service.usecases import schema
from lrhub_service.usecases.tokens import TokenStore

# FastAPI's native OpenTelemetry hook checks its providers on every request when enabled
_NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def _version() -> str:
    try:
        return metadata.version("lrhub")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        app.openapi_schema = build_openapi(app)
    return app.openapi_schema


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the database is opened (and SQLite migrated) by the lifespan."""
    settings = settings if settings is not None else Settings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub, readiness = open_hub(settings)
        app.state.hub, app.state.readiness = hub, readiness
        app.state.tokens = TokenStore(settings, hub.db)
        app.state.migration_head = schema.head_revision()
        await readiness.check()  # logs "lrhub ready", or one line naming the fix
        readiness.watch()  # until ready: /readyz and /v1 answer 503 (ReadinessGate)
        lag = LoopLagMonitor(metrics)
        lag.start()
        try:
            yield
        finally:
            await lag.close()
            await readiness.close()
            await close_hub(hub)

    app = FastAPI(
        title="lrhub",
        version=_version(),
        summary="One resumable learning-rate schedule for every worker of a training job.",
        lifespan=lifespan,
        default_response_class=OrjsonResponse,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
        telemetry=None if settings.otel else _NO_TELEMETRY,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    problems.install(app)
    app.add_exception_handler(405, on_method_not_allowed)  # type: ignore[arg-type]
    for router in (  # hot routes first: routers are matched in order
        values.read,
        values.write,
        runs.read,
        runs.write,
        lifecycle.router,
        preview.router,
        lr_finder.router,
        limits.router,
        ops.router,
        docs.router,
    ):
        app.include_router(router)
    docs.mount_assets(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.add_middleware(TrailingSlashMiddleware)
    app.add_middleware(FastReadMiddleware)  # outside the slash check: its paths have none
    app.add_middleware(AuthMiddleware)
    app.add_middleware(ReadinessGate)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(EdgeMiddleware, metrics=metrics)
    return app
