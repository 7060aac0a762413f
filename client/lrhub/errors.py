"""Exceptions raised by the lrhub client: one class per kind of failure.

Every message says what went wrong and what to do about it.
"""

from __future__ import annotations

from typing import Any


class LrhubError(Exception):
    """Base class of every error the lrhub client raises."""


class OutageWarning(UserWarning):
    """The lrhub server is unreachable and the scheduler holds its last value."""


class ResumeWarning(UserWarning):
    """The scheduler continues a run that had already made progress."""


class SchedulerUsageError(LrhubError, ValueError):
    """The scheduler was used in a way lrhub cannot honour (the message says what to do):
    ``step(number)`` on a run that is not metric-driven, a parameter group added after
    attach, a second scheduler on one optimizer."""


class APIConnectionError(LrhubError):
    """The server could not be reached (refused, reset, DNS, TLS)."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class APITimeoutError(APIConnectionError):
    """The server did not answer within the configured timeout."""


class APIStatusError(LrhubError):
    """The server answered with a 4xx or 5xx status."""

    hint = "See the detail above."

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body or {}
        self.retry_after = retry_after

    @property
    def detail(self) -> str:
        """The server's one-line explanation (``detail`` of the problem document)."""
        return str(self.body.get("detail") or self.body.get("title") or "")

    @property
    def errors(self) -> list[dict[str, Any]]:
        """Per-field errors: ``[{"loc": "schedule.T_max", "msg": "must be > 0"}]``."""
        errors = self.body.get("errors")
        return errors if isinstance(errors, list) else []


class BadRequestError(APIStatusError, ValueError):
    """400/422: the request named an invalid field (also a ``ValueError``, as torch raises
    for invalid scheduler arguments)."""

    hint = "Fix the named field(s) and send the request again."


class AuthenticationError(APIStatusError):
    hint = "Pass a valid token with lrhub.Client(token=...) or set LRHUB_TOKEN."


class PermissionDeniedError(APIStatusError):
    hint = "Use a token whose scope allows this operation."


class NotFoundError(APIStatusError):
    hint = "Check the run id or name (client.list_runs() shows the runs that exist)."


class ConflictError(APIStatusError):
    hint = (
        "The request conflicts with what the server stores for the run; if the name is "
        "taken by another schedule, choose another name or pass the stored schedule."
    )


class PreconditionFailedError(APIStatusError):
    hint = "The run was revised meanwhile: reload it with run.refresh() and revise again."


class RequestTooLargeError(APIStatusError):
    hint = "Send a smaller request (fewer steps per window or preview)."


class RateLimitError(APIStatusError):
    hint = "The server is rate-limiting this client; slow down or raise the server's limit."


class InternalServerError(APIStatusError):
    hint = "The server failed; check its logs (retries were exhausted)."


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    412: PreconditionFailedError,
    413: RequestTooLargeError,
    422: BadRequestError,
    429: RateLimitError,
}


def error_class_for(status: int) -> type[APIStatusError]:
    """The exception class for an HTTP error status."""
    if status >= 500:
        return InternalServerError
    return _BY_STATUS.get(status, APIStatusError)


def status_error(
    method: str,
    path: str,
    status: int,
    body: dict[str, Any] | None,
    retry_after: float | None = None,
) -> APIStatusError:
    """Build the typed error for a failed response, with a message saying what to do."""
    cls = error_class_for(status)
    body = body or {}
    detail = body.get("detail") or body.get("title") or "no detail given"
    message = f"{method} {path} failed with HTTP {status}: {detail}. {cls.hint}"
    return cls(message, status_code=status, body=body, retry_after=retry_after)
