"""Whether the database can serve: reachable, and its schema at this version's head.

A server starts whatever the database's state: until it is ready, ``/readyz`` and every
``/v1`` route answer 503 with :attr:`Readiness.problem`, one line that names the fix, and
the server logs that line once. A watcher checks again every second, so a later
``lrhub db upgrade``, or the database coming back, makes the server ready without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from lrhub_service.db.errors import as_domain_error, outage_reason
from lrhub_service.db.urls import display_url, sqlite_path
from lrhub_service.usecases import schema
from lrhub_service.usecases.errors import DatabaseUnavailable

log = logging.getLogger("lrhub.app")
RECHECK_S = 1.0
NOT_CHECKED = "the database has not been checked yet; retry shortly"


def unreachable_problem(database_url: str, exc: BaseException) -> str:
    """The line a person reads when the database cannot be reached or opened."""
    reason = outage_reason(exc)
    path = sqlite_path(database_url)
    if path is not None:
        return (
            f"cannot open the SQLite database {path} ({reason}): check the path in "
            "LRHUB_DATABASE_URL and that its folder exists and is writable"
        )
    return (
        f"the database is unreachable ({reason}): check LRHUB_DATABASE_URL "
        f"({display_url(database_url)}) and that the database server is running"
    )


def schema_problem(current: str | None, head: str | None) -> str | None:
    """None when the schema is at ``head``; else the line that says to migrate."""
    if current == head:
        return None
    if current is None:
        return (
            f"the database is not migrated (it is empty; this lrhub needs {head}): "
            "run `lrhub db upgrade`"
        )
    return f"the database schema is at {current}, this lrhub needs {head}: run `lrhub db upgrade`"


def startup_problem(database_url: str, auto_migrate: bool) -> str | None:
    """Before the server starts: migrate an embedded SQLite database when asked; None when
    the database is ready, else the line that says why not (the server starts either way)."""
    try:
        ready = schema.prepare_for_serving(database_url, auto_migrate)
    except Exception as exc:
        if not isinstance(as_domain_error(exc), DatabaseUnavailable):
            raise
        return unreachable_problem(database_url, exc)
    if not ready:
        return schema_problem(schema.current_revision(database_url), schema.head_revision())
    return None


class Readiness:
    """The serving database's state: :attr:`problem` is None once it is ready to serve."""

    def __init__(
        self,
        database_url: str,
        backend: str,
        prepare: Callable[[], Awaitable[None]],
        *,
        recheck_s: float = RECHECK_S,
    ) -> None:
        self._url = database_url
        self._backend = backend
        self._prepare = prepare  # migrate SQLite when asked, open the driver pools
        self._recheck_s = recheck_s
        self._watcher: asyncio.Task[None] | None = None
        self.problem: str | None = NOT_CHECKED

    @property
    def ready(self) -> bool:
        return self.problem is None

    async def check(self) -> str | None:
        """Prepare the database and compare its schema with the head; the problem, if any.

        Logs one line when the problem appears or changes, and ``lrhub ready`` once ready.
        """
        try:
            await self._prepare()
            current = await asyncio.to_thread(schema.current_revision, self._url)
            problem = schema_problem(current, schema.head_revision())
        except Exception as exc:
            if isinstance(as_domain_error(exc), DatabaseUnavailable):
                problem = unreachable_problem(self._url, exc)
            else:  # not an outage: say what the driver said, with the traceback once
                problem = f"the database cannot be used ({outage_reason(exc)})"
                if problem != self.problem:
                    log.error("checking the database failed", exc_info=exc)
        if problem is None:
            if self.problem is not None:
                log.info("lrhub ready", extra={"database": self._backend})
        elif problem != self.problem:
            log.warning("%s; /readyz and /v1 answer 503 until then", problem)
        self.problem = problem
        return problem

    def watch(self) -> None:
        """Check again every ``recheck_s`` in the background until the database is ready."""
        if self._watcher is None and not self.ready:
            self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while not self.ready:
            await asyncio.sleep(self._recheck_s)
            await self.check()

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
