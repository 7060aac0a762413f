"""The hot read, ``GET /v1/runs/{id}/lr?step=k``, answered without FastAPI's routing layers.

It sits inside the metrics, body-limit and auth middleware (so it is counted, limited and
authorised like any request) and answers a well-formed request directly: parse two
integers, read the value, send orjson. Anything else (a malformed query, an unknown run,
a database error) goes on to the FastAPI route, which produces the documented answer; that
route also keeps the endpoint in the OpenAPI document.
"""

from __future__ import annotations

from types import SimpleNamespace

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from lrhub_service.api.lr_query import well_formed_lr_request
from lrhub_service.usecases import values
from lrhub_service.usecases.compute import RequestRefused
from lrhub_service.usecases.errors import DatabaseUnavailable

LR_ROUTE = SimpleNamespace(path="/v1/runs/{run_id}/lr")  # the label metrics record


class FastReadMiddleware:
    """Serve well-formed value reads directly; pass everything else on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            parsed = well_formed_lr_request(scope["path"], scope["query_string"])
            if parsed is not None:
                run_id, step = parsed
                try:
                    body = await values.read_value(scope["app"].state.hub, run_id, step)
                except (RequestRefused, DatabaseUnavailable):
                    raise  # refused, shed or no database: the route would not do better
                except Exception:
                    pass  # the route answers it again, with the documented error
                else:
                    scope["route"] = LR_ROUTE
                    await _send_json(send, orjson.dumps(body), body["revision"])
                    return
        await self.app(scope, receive, send)


async def _send_json(send: Send, payload: bytes, revision: int) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"etag", f'"{revision}"'.encode()),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
