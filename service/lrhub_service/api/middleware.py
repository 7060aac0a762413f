"""Pure ASGI middleware: the body size limit, and the edge (fault barrier, metrics, log)."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lrhub_service.api.problems import answer_for, problem, run_id_of
from lrhub_service.observability import Metrics

log = logging.getLogger("lrhub.access")


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body exceeds the limit of {limit} bytes")


class BodyLimitMiddleware:
    """Refuse bodies over ``limit`` bytes with 413, counting bytes so nothing big is buffered."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _bodiless(scope):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            response = problem(413, f"the request body exceeds the limit of {self.limit} bytes")
            await response(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge as exc:
            if started:
                raise
            await problem(413, str(exc.detail))(scope, receive, send)


def _bodiless(scope: Scope) -> bool:
    """A GET/HEAD that announces no body: nothing to count."""
    if scope["method"] not in ("GET", "HEAD"):
        return False
    return not any(
        key in (b"content-length", b"transfer-encoding") for key, _ in scope.get("headers", ())
    )


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class EdgeMiddleware:
    """The outermost layer: every request gets an answer, and is timed and counted.

    An exception that escapes the app (or a middleware inside this one) before the response
    started becomes problem+json (503 with ``Retry-After`` for a database outage), so uvicorn
    never closes the connection on it. Latency is recorded per route template and status;
    a log line per request at debug level (errors other than 503 at error level)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self._latency: dict[tuple[str, str, int], Any] = {}  # labelled children, cached

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0  # 0: the response has not started

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        except Exception as exc:
            if status:
                raise
            response = await answer_for(Request(scope), exc)
            await response(scope, receive, recording_send)
        finally:
            self._record(scope, status or 500, time.perf_counter() - start)

    def _record(self, scope: Scope, status: int, elapsed: float) -> None:
        key = (scope["method"], _route_template(scope), status)
        child = self._latency.get(key)
        if child is None:
            child = self._latency[key] = self.metrics.latency.labels(key[0], key[1], str(status))
        child.observe(elapsed)
        loud = status >= 500 and status != 503  # a 503 is logged where it is decided
        if loud or log.isEnabledFor(logging.DEBUG):
            log.log(
                logging.ERROR if loud else logging.DEBUG,
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "run_id": run_id_of(scope.get("path_params")),
                    "status": status,
                    "seconds": round(elapsed, 6),
                },
            )


def _route_template(scope: dict[str, Any]) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
