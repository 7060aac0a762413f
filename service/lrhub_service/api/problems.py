"""One error format for every 4xx/5xx: RFC 9457 problem+json with field-level ``errors``."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from lrhub_service.engine import SpecError
from lrhub_service.engine.expr import ExpressionError
from lrhub_service.observability import OncePerWhile
from lrhub_service.usecases.compute import Overloaded, RequestRefused
from lrhub_service.usecases.errors import DatabaseUnavailable, ServiceError, is_unavailable

log = logging.getLogger("lrhub.api")


def _caused_by(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    """Whether ``exc`` or anything in its ``orig``/``__cause__`` chain is one of ``kinds``."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kinds):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


PROBLEM_BASE = "https://lrhub.dev/problems/"
TITLES = {
    400: ("bad-request", "Malformed request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Permission denied"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    412: ("precondition-failed", "Precondition failed"),
    413: ("too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation", "Invalid request"),
    500: ("internal", "Internal server error"),
    503: ("unavailable", "Service unavailable"),
}


PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"


def declared(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` declaring each status as a problem+json answer."""
    return {
        status: {
            "description": TITLES[status][1],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
        }
        for status in sorted(set(statuses))
    }


def run_id_of(scope_params: Any) -> int | str | None:
    """The run id of a request (an int when it is one), for log lines."""
    raw = (scope_params or {}).get("run_id")
    return int(raw) if isinstance(raw, str) and raw.isdigit() else raw


def problem(
    status: int,
    detail: str,
    errors: Sequence[dict[str, str]] | None = None,
    *,
    kind: str | None = None,
    title: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A problem+json response."""
    default_kind, default_title = TITLES.get(status, ("error", "Error"))
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + (kind or default_kind),
        "title": title or default_title,
        "status": status,
        "detail": detail,
        "errors": list(errors) if errors is not None else [],
    }
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def loc_path(loc: Sequence[str | int]) -> str:
    """``("body", "schedule", "schedulers", 1, "T_max")`` -> ``schedule.schedulers[1].T_max``."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def _message(error: dict[str, Any]) -> str:
    msg = str(error.get("msg", "invalid"))
    return msg.removeprefix("Value error, ")


async def on_validation_error(_request: Request, exc: RequestValidationError) -> Response:
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        first = next(e for e in errors if e.get("type") == "json_invalid")
        reason = str(first.get("ctx", {}).get("error", "invalid JSON"))
        return problem(
            400,
            f"the request body is not valid JSON: {reason}",
            [{"loc": "body", "msg": f"invalid JSON: {reason}"}],
        )
    items = []
    for error in errors:
        loc = error.get("loc", ())
        if error.get("type") == "missing" and tuple(loc) == ("body",):
            items.append({"loc": "body", "msg": "a JSON body is required"})
            continue
        items.append({"loc": loc_path(loc), "msg": _message(error)})
    detail = "; ".join(f"{e['loc']}: {e['msg']}" if e["loc"] else e["msg"] for e in items)
    return problem(422, detail, items)


def count_refusal(request: Request, exc: RequestRefused) -> None:
    """Count a refused (over a limit) or shed (busy) request in /metrics."""
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        counter = metrics.shed if isinstance(exc, Overloaded) else metrics.refused
        counter.labels(exc.reason).inc()


async def on_service_error(request: Request, exc: ServiceError) -> Response:
    if isinstance(exc, RequestRefused):
        count_refusal(request, exc)
    return problem(
        exc.status, exc.message, exc.errors, kind=exc.kind, title=exc.title, headers=exc.headers
    )


async def on_http_error(_request: Request, exc: StarletteHTTPException) -> Response:
    status = exc.status_code
    detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(status, ("", "Error"))[1]
    if status == 404 and detail == "Not Found":
        detail = "no such route; see /docs for the API"
    return problem(status, detail, headers=getattr(exc, "headers", None))


async def on_spec_error(_request: Request, exc: SpecError) -> Response:
    """A schedule that cannot give a value (e.g. an expression negative at some step)."""
    errors = [{"loc": e["loc"] or "schedule", "msg": e["msg"]} for e in exc.errors]
    step = getattr(exc, "step", None)
    if isinstance(step, int):  # the engine names the first step it cannot compute
        advice = f"revise the schedule from step {step} (POST /v1/runs/{{id}}/revisions)"
        errors.append({"loc": "step", "msg": f"no value at step {step}: {advice}"})
        return problem(
            422, f"the schedule cannot be evaluated at step {step}: {exc.detail}; {advice}", errors
        )
    return problem(422, f"the schedule cannot be evaluated: {exc.detail}", errors)


async def on_expression_error(_request: Request, exc: ExpressionError) -> Response:
    return problem(
        422, f"the schedule cannot be evaluated: {exc}", [{"loc": exc.loc, "msg": exc.reason}]
    )


async def on_arithmetic(_request: Request, exc: ArithmeticError) -> Response:
    return problem(
        422,
        f"the schedule cannot be evaluated at this step: {type(exc).__name__}: {exc}",
        [{"loc": "schedule", "msg": str(exc)}],
    )


async def on_unstorable(_request: Request, exc: Exception) -> Response:
    """A value the database refuses (e.g. a NUL character): the client's data, not a bug."""
    return problem(422, f"a value in the request cannot be stored: {type(exc).__name__}")


def unavailable(detail: str = "the database is unavailable right now; retry shortly") -> Response:
    """The 503 of a database outage (or a shed request): retry after a second."""
    return problem(503, detail, headers={"Retry-After": str(DatabaseUnavailable.retry_after_s)})


async def on_database_down(request: Request, exc: Exception) -> Response:
    """The database is unreachable, locked too long or out of connections: retry later."""
    cause = exc.reason if isinstance(exc, DatabaseUnavailable) else type(exc).__name__
    request.app.state.outage_log.warning(  # an outage fails every request: not a line each
        f"database unavailable ({cause}) on {request.method} {request.url.path}: "
        "answering 503 with Retry-After",
        run_id=run_id_of(request.path_params),
    )
    return unavailable()


async def on_dbapi_error(request: Request, exc: sa_exc.DBAPIError) -> Response:
    """Sort a SQLAlchemy-wrapped driver error: unreachable (503), unstorable data (422), bug."""
    if is_unavailable(exc):
        return await on_database_down(request, exc)
    if _caused_by(exc, (asyncpg.DataError, sqlite3.DataError)):
        return await on_unstorable(request, exc)
    return await on_unexpected(request, exc)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    """Anything else: a raw driver outage (the fast path) is a 503, the rest a logged 500."""
    if is_unavailable(exc):
        return await on_database_down(request, exc)
    run_id = run_id_of(request.path_params)
    log.error(
        "unhandled error on %s %s",
        request.method,
        request.url.path,
        exc_info=exc,
        extra={"run_id": run_id},
    )
    return problem(500, "the server hit an unexpected error; it has been logged")


async def answer_for(request: Request, exc: Exception) -> Response:
    """The problem+json answer to an exception that escaped every handler."""
    if isinstance(exc, ServiceError):
        return await on_service_error(request, exc)
    return await on_unexpected(request, exc)


def install(app: FastAPI) -> None:
    """Register every handler on ``app``."""
    app.state.outage_log = OncePerWhile(log)
    app.add_exception_handler(RequestValidationError, on_validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(ServiceError, on_service_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, on_http_error)  # type: ignore[arg-type]
    app.add_exception_handler(SpecError, on_spec_error)  # type: ignore[arg-type]
    app.add_exception_handler(ExpressionError, on_expression_error)  # type: ignore[arg-type]
    app.add_exception_handler(ArithmeticError, on_arithmetic)  # type: ignore[arg-type]
    app.add_exception_handler(sa_exc.DataError, on_unstorable)
    app.add_exception_handler(asyncpg.DataError, on_unstorable)
    app.add_exception_handler(DatabaseUnavailable, on_database_down)
    app.add_exception_handler(sa_exc.DBAPIError, on_dbapi_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, on_unexpected)
