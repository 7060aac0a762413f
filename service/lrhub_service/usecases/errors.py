"""Domain errors raised by the use-cases; the API turns each into one problem+json status."""

from __future__ import annotations

from collections.abc import Iterable

# the db part's outage error, re-exported for the api (which never imports the db part)
from lrhub_service.db.errors import DatabaseUnavailable, is_unavailable  # noqa: F401


class ServiceError(Exception):
    """Base class: ``status``, a problem ``kind``, a ``title`` and field-level ``errors``."""

    status = 400
    kind = "bad-request"
    title = "Bad request"
    headers: dict[str, str] | None = None

    def __init__(
        self, message: str, *, loc: str = "", errors: Iterable[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.errors = (
            [dict(e) for e in errors] if errors is not None else [{"loc": loc, "msg": message}]
        )


class Invalid(ServiceError):
    status = 422
    kind = "validation"
    title = "Invalid request"


class NotFound(ServiceError):
    status = 404
    kind = "not-found"
    title = "Not found"


class Conflict(ServiceError):
    status = 409
    kind = "conflict"
    title = "Conflict"


class Archived(Conflict):
    """A write to an archived run: 409 naming the way back (unarchive)."""

    kind = "archived"
    title = "Run archived"

    def __init__(self, run_id: int, name: str) -> None:
        super().__init__(
            f"run {run_id} ({name!r}) is archived and read-only; unarchive it first "
            f"(POST /v1/runs/{run_id}/unarchive, or: lrhub runs unarchive {name})",
            loc="run_id",
        )


class PreconditionFailed(ServiceError):
    status = 412
    kind = "precondition-failed"
    title = "Precondition failed"


class Unavailable(ServiceError):
    status = 503
    kind = "unavailable"
    title = "Service unavailable"


class Unevaluable(Invalid):
    """A step whose value the schedule cannot give: 422 naming the step and the way forward."""

    def __init__(self, run_id: int, step: int, reason: str) -> None:
        super().__init__(
            f"the schedule of run {run_id} cannot be evaluated at step {step}: {reason}; "
            f"revise the run from step {step} (POST /v1/runs/{run_id}/revisions with "
            f'"from_step": {step}, "continue": false) to go on',
            loc="schedule",
        )
        self.step = step


def run_not_found(run_id: int | str) -> NotFound:
    return NotFound(f"run {run_id} does not exist", loc="run_id")
