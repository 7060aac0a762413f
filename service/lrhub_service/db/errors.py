"""Database faults as one domain error: "the database is unavailable, retry shortly".

Driver errors differ by backend (asyncpg, sqlite3, SQLAlchemy's wrappers, plain socket
errors); callers above the db part only ever see :class:`DatabaseUnavailable`, so the
authentication middleware and the routes answer the same 503 with ``Retry-After``.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import ParamSpec, TypeVar

import asyncpg
from sqlalchemy import exc as sa_exc

P = ParamSpec("P")
R = TypeVar("R")
RETRY_AFTER_S = 1
SQLITE_BUSY_WORDS = ("locked", "busy", "unable to open", "disk i/o")
UNREACHABLE: tuple[type[BaseException], ...] = (
    sa_exc.TimeoutError,  # the connection pool stayed empty for pool_timeout
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, crash shutdown
    asyncpg.exceptions.InvalidCatalogNameError,
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
    asyncpg.exceptions.TooManyConnectionsError,
    ConnectionError,
    TimeoutError,
    OSError,  # connection refused, host unreachable
)


class DatabaseUnavailable(Exception):
    """The database cannot be reached (down, restarting, out of connections, locked too long)."""

    retry_after_s = RETRY_AFTER_S

    def __init__(self, cause: BaseException | None = None) -> None:
        reason = type(cause).__name__ if cause is not None else "unreachable"
        super().__init__(f"the database is unavailable right now ({reason}); retry shortly")
        self.reason = reason


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it wraps (SQLAlchemy's ``orig``, then each ``__cause__``)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 16:
        seen.append(current)
        current = getattr(current, "orig", None) or current.__cause__
    return seen


def is_unavailable(exc: BaseException) -> bool:
    """Whether a database error means "try again later" rather than a bug or bad data."""
    if isinstance(exc, DatabaseUnavailable):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    for link in _chain(exc):
        if isinstance(link, sqlite3.OperationalError):
            return any(word in str(link).lower() for word in SQLITE_BUSY_WORDS)
        if isinstance(link, UNREACHABLE):
            return True
    return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))


def outage_reason(exc: BaseException) -> str:
    """What the driver said about an outage, in one short line (for a person, no secrets:
    drivers name the host, port and user, never the password)."""
    for link in reversed(_chain(exc)):
        text = " ".join(str(link).split())
        if text and not isinstance(link, DatabaseUnavailable):
            return text[:200]
    return type(exc).__name__


def as_domain_error(exc: BaseException) -> BaseException:
    """The error to raise instead of ``exc``: :class:`DatabaseUnavailable` for an outage."""
    if isinstance(exc, DatabaseUnavailable) or not is_unavailable(exc):
        return exc
    return DatabaseUnavailable(exc)


@asynccontextmanager
async def faults_as_domain_errors() -> AsyncIterator[None]:
    """Re-raise database outages inside the block as :class:`DatabaseUnavailable`."""
    try:
        yield
    except Exception as exc:
        mapped = as_domain_error(exc)
        if mapped is exc:
            raise
        raise mapped from exc


def raises_domain_errors(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Decorate a coroutine function so that database outages leave it as the domain error."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(*args, **kwargs)
        except Exception as exc:
            mapped = as_domain_error(exc)
            if mapped is exc:
                raise
            raise mapped from exc

    return wrapper
