"""Answers the router cannot give well by itself: a trailing slash, and a 405's ``Allow``.

Starlette redirects ``/v1/runs/`` with an empty ``307``; here a path that only differs from a
route by its trailing slash gets a ``308`` (method and body kept) whose body is a problem
naming the right path. A ``405`` lists every method any route serves at that path (the
GET and POST of one path live in different routers).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from lrhub_service.api.problems import problem


def _leaves(routes: Iterable[Any]) -> Iterator[Any]:
    """Every endpoint route, inside included routers and mounts too."""
    for route in routes:
        nested = getattr(getattr(route, "original_router", None), "routes", None)
        if nested is None and not hasattr(route, "methods"):
            nested = getattr(route, "routes", None)
        if nested is not None:
            yield from _leaves(nested)
        elif hasattr(route, "path_regex"):
            yield route


def _matches(routes: Iterable[Any], path: str) -> list[Any]:
    return [route for route in _leaves(routes) if route.path_regex.match(path)]


def allowed_methods(routes: Iterable[Any], path: str) -> list[str]:
    """Every method some route serves at ``path``, sorted."""
    methods: set[str] = set()
    for route in _matches(routes, path):
        methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


class TrailingSlashMiddleware:
    """``/v1/runs/`` -> ``308`` to ``/v1/runs``, with a problem body saying so."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or scope["path"].encode()
            if raw.endswith(b"/") and raw != b"/":
                stripped = scope["path"].rstrip("/")
                if stripped and _matches(scope["app"].router.routes, stripped):
                    query = scope.get("query_string", b"").decode("latin-1")
                    target = stripped + (f"?{query}" if query else "")
                    await problem(
                        308,
                        f"no route ends with a slash; use {stripped}",
                        [{"loc": "path", "msg": f"remove the trailing slash: {stripped}"}],
                        kind="trailing-slash",
                        title="Permanent redirect",
                        headers={"Location": target},
                    )(scope, receive, send)
                    return
        await self.app(scope, receive, send)


async def on_method_not_allowed(request: Request, exc: HTTPException) -> Response:
    """A 405 problem whose ``Allow`` lists every method served at the path."""
    allow = allowed_methods(request.app.router.routes, request.url.path)
    listed = ", ".join(allow)
    return problem(
        405,
        f"{request.method} is not served at {request.url.path}; allowed: {listed}",
        [{"loc": "method", "msg": f"use one of {listed}"}],
        headers={"Allow": listed},
    )
