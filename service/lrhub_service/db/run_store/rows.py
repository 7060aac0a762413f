"""Statements on run rows through SQLAlchemy, inside a unit of work's transaction or a read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, cast, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from lrhub_service.db.listener import announce
from lrhub_service.db.models import Revision, Run, utcnow
from lrhub_service.db.sql import greatest

RUN_COLUMNS = tuple(Run.__table__.columns)
CLOCK_OFFSET = (
    select(Revision.clock_offset)
    .where(Revision.run_id == Run.id, Revision.revision == Run.revision)
    .scalar_subquery()
    .label("clock_offset")
)
"""The latest revision's clock offset (its start, on a ``restart`` clock): where the
current spec's own step 0 lies, which the status rule needs to know when a run is done."""
ROW_COLUMNS = (*RUN_COLUMNS, CLOCK_OFFSET)


class DuplicateRun(Exception):
    """A run with this name was created concurrently."""


class RunRows:
    """Every SQLAlchemy statement on the ``runs`` table, bound to one connection."""

    def __init__(self, conn: AsyncConnection, *, is_sqlite: bool) -> None:
        self.conn = conn
        self.is_sqlite = is_sqlite

    async def get(self, run_id: int, *, lock: bool = False) -> Any:
        """The run's row (locked for this transaction when ``lock``), or None."""
        query = select(*ROW_COLUMNS).where(Run.id == run_id)
        if lock and not self.is_sqlite:  # SQLite's BEGIN IMMEDIATE already serialises writers
            query = query.with_for_update()
        return (await self.conn.execute(query)).first()

    async def by_name(self, name: str, *, lock: bool = False) -> Any:
        query = select(*ROW_COLUMNS).where(Run.name == name)
        if lock and not self.is_sqlite:
            query = query.with_for_update()
        return (await self.conn.execute(query)).first()

    async def page(
        self,
        limit: int,
        before: int | None,
        archived: str = "exclude",
        *,
        name_contains: str | None = None,
        statuses: tuple[str, ...] | None = None,
    ) -> list[Any]:
        """Up to ``limit`` runs, newest first, with ids below ``before``.

        ``archived``: ``exclude`` (the default) hides archived runs, ``only`` lists just
        them, ``include`` lists every run. ``name_contains``: a case-insensitive part of
        the name; ``statuses``: stored statuses to keep.
        """
        query = select(*ROW_COLUMNS).order_by(Run.id.desc()).limit(limit)
        if before is not None:
            query = query.where(Run.id < before)
        if archived == "exclude":
            query = query.where(Run.archived_at.is_(None))
        elif archived == "only":
            query = query.where(Run.archived_at.is_not(None))
        if name_contains:
            needle = name_contains.lower()
            query = query.where(func.lower(Run.name).contains(needle, autoescape=True))
        if statuses is not None:
            query = query.where(Run.status.in_(statuses))
        return list((await self.conn.execute(query)).all())

    async def status_inputs(
        self,
        limit: int,
        before: int | None,
        *,
        name_contains: str | None = None,
        updated_before: datetime | None = None,
        updated_since: datetime | None = None,
    ) -> list[Any]:
        """Up to ``limit`` unarchived running runs, newest first, below ``before``: just the
        columns the status rule reads, the spec and options as JSON text (a scan for a
        derived status: many runs share a spec, so the rule parses each text once).
        ``updated_before`` / ``updated_since`` bound their last write."""
        columns = (Run.id, Run.status, Run.archived_at, Run.clean_exit, Run.progress,
                   Run.updated_at, cast(Run.schedule, Text).label("schedule"),
                   cast(Run.options, Text).label("options"), Revision.clock_offset)
        latest = and_(Revision.run_id == Run.id, Revision.revision == Run.revision)
        query = (
            select(*columns)
            .select_from(Run.__table__.outerjoin(Revision, latest))  # a join scans faster
            .where(Run.archived_at.is_(None), Run.status == "running")
            .order_by(Run.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(Run.id < before)
        if name_contains:
            needle = name_contains.lower()
            query = query.where(func.lower(Run.name).contains(needle, autoescape=True))
        if updated_before is not None:
            query = query.where(Run.updated_at < updated_before)
        if updated_since is not None:
            query = query.where(Run.updated_at >= updated_since)
        return list((await self.conn.execute(query)).all())

    async def by_ids(self, run_ids: list[int]) -> list[Any]:
        """The runs with these ids, newest first."""
        query = select(*ROW_COLUMNS).where(Run.id.in_(run_ids)).order_by(Run.id.desc())
        return list((await self.conn.execute(query)).all())

    async def count_by_status(self) -> list[tuple[str, bool, int]]:
        """How many runs have each stored status, archived or not: (status, archived, n)."""
        archived = Run.archived_at.is_not(None)
        rows = await self.conn.execute(
            select(Run.status, archived, func.count()).group_by(Run.status, archived)
        )
        return [(status, bool(is_archived), int(count)) for status, is_archived, count in rows]

    async def insert(self, **values: Any) -> int:
        """A new run; returns its id."""
        now = utcnow()
        statement = insert(Run).values(created_at=now, updated_at=now, **values)
        try:
            return int((await self.conn.execute(statement.returning(Run.id))).scalar_one())
        except IntegrityError as exc:
            raise DuplicateRun(values.get("name")) from exc

    async def update(self, run_id: int, **values: Any) -> None:
        """Change columns of a run (``updated_at`` too)."""
        await self.conn.execute(
            update(Run).where(Run.id == run_id).values(updated_at=utcnow(), **values)
        )

    async def delete(self, run_id: int) -> None:
        """Delete the run's row (its records first: see ``RunRecords.delete_history``)."""
        await self.conn.execute(delete(Run).where(Run.id == run_id))

    async def raise_progress(self, run_id: int, step: int, **values: Any) -> int | None:
        """Progress becomes ``max(progress, step)``; returns it (None: no such run)."""
        statement = (
            update(Run)
            .where(Run.id == run_id)
            .values(progress=greatest(Run.progress, step), updated_at=utcnow(), **values)
            .returning(Run.progress)
        )
        return (await self.conn.execute(statement)).scalar_one_or_none()  # type: ignore[no-any-return]

    async def raise_horizon(self, run_id: int, last: int) -> None:
        """The horizon becomes ``max(horizon, last)``."""
        await self.conn.execute(
            update(Run).where(Run.id == run_id).values(horizon=greatest(Run.horizon, last))
        )

    async def bump_state_version(self, run_id: int) -> int:
        """A new version of the run's value inputs (metric state, base values); returns it."""
        statement = (
            update(Run)
            .where(Run.id == run_id)
            .values(state_version=Run.state_version + 1)
            .returning(Run.state_version)
        )
        return int((await self.conn.execute(statement)).scalar_one())

    async def notify_changed(self, run_id: int) -> None:
        """Tell every server process, at commit, that the run's values may have changed."""
        await announce(self.conn, run_id, is_sqlite=self.is_sqlite)
