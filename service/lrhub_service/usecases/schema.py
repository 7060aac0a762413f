"""The database schema's version: what this server needs, what the database holds."""

from __future__ import annotations

from lrhub_service.db import migrate
from lrhub_service.db.urls import backend_name
from lrhub_service.usecases.hub import Hub
from lrhub_service.usecases.status import public_status


def head_revision() -> str | None:
    """The newest migration shipped with this version of lrhub."""
    return migrate.head_revision()


def current_revision(database_url: str) -> str | None:
    """The migration the database is at (None: empty)."""
    return migrate.current_revision(database_url)


def upgrade(database_url: str, revision: str = "head") -> None:
    migrate.upgrade(database_url, revision)


def downgrade(database_url: str, revision: str = "-1") -> None:
    migrate.downgrade(database_url, revision)


def prepare_for_serving(database_url: str, auto_migrate: bool) -> bool:
    """Migrate an embedded SQLite database when asked; False when the schema is behind."""
    if backend_name(database_url) == "sqlite" and auto_migrate:
        migrate.upgrade_locked(database_url)
        return True
    return current_revision(database_url) == head_revision()


async def served_revision(hub: Hub) -> str | None:
    """The schema version the serving database reports (raises when it is unreachable)."""
    return await hub.db.schema_version()


async def runs_by_status(hub: Hub) -> list[tuple[str, int]]:
    """How many runs have each (public) status: archived runs count as ``archived``."""
    async with hub.reading() as (runs, _records):
        rows = await runs.count_by_status()
    counts: dict[str, int] = {}
    for stored, archived, count in rows:
        status = public_status(stored, archived)
        counts[status] = counts.get(status, 0) + count
    return sorted(counts.items())
