"""The hot reads, ``GET /v1/runs/{id}/lr?step=k`` and ``GET /v1/runs/{id}/window?start=a
&count=n``, answered without FastAPI's routing layers.

It sits inside the metrics, body-limit, readiness and auth middleware (so each read is
counted, limited and authorised like any request) and answers a well-formed read directly:
parse the integers, read the values, send the bytes. Anything else (a malformed query, an
unknown run, a database error) goes on to the FastAPI route, which produces the documented
answer; the routes also keep the endpoints in the OpenAPI document.
"""

from __future__ import annotations

from types import SimpleNamespace

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from lrhub_service.api.lr_query import well_formed_lr_request, well_formed_window_request
from lrhub_service.api.responses import scope_may_write, window_answer
from lrhub_service.usecases import values
from lrhub_service.usecases.compute import RequestRefused
from lrhub_service.usecases.errors import DatabaseUnavailable

LR_ROUTE = SimpleNamespace(path="/v1/runs/{run_id}/lr")  # the labels metrics record
WINDOW_ROUTE = SimpleNamespace(path="/v1/runs/{run_id}/window")
FINAL = (RequestRefused, DatabaseUnavailable)  # refused, shed or no database: the route
# would not do better, so these propagate; any other error is answered again by the route


class FastReadMiddleware:
    """Serve well-formed value and window reads directly; pass everything else on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path, query = scope["path"], scope["query_string"]
            if path.endswith("/lr"):
                parsed = well_formed_lr_request(path, query)
                if parsed is not None and await _lr(scope, send, *parsed):
                    return
            elif path.endswith("/window"):
                window = well_formed_window_request(path, query)
                if window is not None and await _window(scope, send, *window):
                    return
        await self.app(scope, receive, send)


async def _lr(scope: Scope, send: Send, run_id: int, step: int) -> bool:
    try:
        body = await values.read_value(scope["app"].state.hub, run_id, step)
    except FINAL:
        raise
    except Exception:
        return False
    payload = orjson.dumps(body)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"etag", f'"{body["revision"]}"'.encode()),
    ]
    scope["route"] = LR_ROUTE
    await _send(send, payload, headers)
    return True


async def _window(scope: Scope, send: Send, run_id: int, start: int, count: int) -> bool:
    accept = None
    for name, value in scope["headers"]:
        if name == b"accept":
            accept = value.decode("latin-1")
            break
    try:
        body, headers = await window_answer(
            scope["app"].state.hub,
            run_id,
            start,
            count,
            may_promise=scope_may_write(scope),
            accept=accept,
        )
    except FINAL:
        raise
    except Exception:
        return False
    scope["route"] = WINDOW_ROUTE
    await _send(send, body, headers)
    return True


async def _send(send: Send, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
