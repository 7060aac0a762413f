"""Fast JSON responses (orjson; FastAPI's default encoder is slow for float lists)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from lrhub_service.api.window_codec import COLUMNS_WINDOW, WINDOW_MEDIA_TYPE, wants_window_binary
from lrhub_service.observability import Metrics
from lrhub_service.usecases import values
from lrhub_service.usecases.hub import Hub
from lrhub_service.usecases.idempotency import HEADER, IdemKey, fingerprint, parse_key


class OrjsonResponse(JSONResponse):
    """JSON rendered by orjson (a ``JSONResponse``, so the document shows each route's model)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def json_response(body: Any, status: int = 200, *, revision: int | None = None) -> Response:
    """``body`` as JSON, with ``ETag: "<revision>"`` when a revision is known."""
    headers = {"ETag": f'"{revision}"'} if revision is not None else None
    return OrjsonResponse(body, status_code=status, headers=headers)


def raw_response(body: bytes, headers: list[tuple[bytes, bytes]]) -> Response:
    """A 200 whose raw headers (content type and length included) are given as they are."""
    response = Response(body)
    response.raw_headers = headers
    return response


def hub_of(request: Request) -> Hub:
    return request.app.state.hub  # type: ignore[no-any-return]


def metrics_of(request: Request) -> Metrics:
    return request.app.state.metrics  # type: ignore[no-any-return]


def may_write(request: Request) -> bool:
    """Whether the caller holds the write scope (see `scope_may_write`)."""
    return scope_may_write(request.scope)


def scope_may_write(scope: Scope) -> bool:
    """Whether the caller holds the write scope: the auth middleware records the principal
    in the ASGI scope's state when tokens are configured; without tokens everyone may."""
    principal = scope.get("state", {}).get("principal")
    return principal is None or bool(principal.allows("write"))


_WINDOW_TYPE = WINDOW_MEDIA_TYPE.encode()


async def window_answer(
    hub: Hub, run_id: int, start: int, count: int, *, may_promise: bool, accept: str | None
) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """A window read's body and headers (JSON, or the compact form when ``accept`` asks)."""
    binary = wants_window_binary(accept)
    body, revision = await values.read_window(
        hub,
        run_id,
        start,
        count,
        may_promise=may_promise,
        form=COLUMNS_WINDOW if binary else values.JSON_WINDOW,
    )
    headers = [
        (b"content-type", _WINDOW_TYPE if binary else b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"etag", f'"{revision}"'.encode()),
        (b"vary", b"Accept"),
    ]
    return body, headers


async def idem_of(request: Request, scope: str) -> IdemKey | None:
    """The request's ``Idempotency-Key`` for ``scope`` (route and run), None when absent."""
    key = parse_key(request.headers.get(HEADER))
    if key is None:
        return None
    hub_of(request).pruner.maybe_prune()
    body = await request.body()
    return IdemKey(scope, key, fingerprint(body, request.headers.get("if-match", "")))
