"""Until the database is ready (reachable, migrated), every ``/v1`` route answers 503."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from lrhub_service.api.problems import unavailable
from lrhub_service.usecases.readiness import Readiness


class ReadinessGate:
    """Answer ``/v1`` requests with the readiness problem (503, Retry-After) while there is
    one; once the database is ready this costs one attribute read per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/v1/"):
            readiness: Readiness | None = getattr(scope["app"].state, "readiness", None)
            if readiness is not None and readiness.problem is not None:
                await unavailable(readiness.problem)(scope, receive, send)
                return
        await self.app(scope, receive, send)
