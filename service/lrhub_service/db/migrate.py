"""Run the packaged Alembic migrations programmatically (``lrhub db ...``, auto-migrate)."""

from __future__ import annotations

import fcntl
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from lrhub_service.db.urls import sync_url

MIGRATIONS_PACKAGE = "lrhub_service.migrations"  # the top-level migrations/ folder, shipped


def script_location() -> str:
    """The folder of the packaged Alembic scripts (``migrations/`` in the repository)."""
    return str(resources.files(MIGRATIONS_PACKAGE))


def alembic_config(database_url: str) -> Config:
    """An Alembic config for the packaged migrations, independent of any alembic.ini."""
    config = Config()
    config.set_main_option("script_location", script_location())
    url = sync_url(database_url).render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "-1") -> None:
    """Revert migrations down to ``revision`` ("base" removes every table)."""
    command.downgrade(alembic_config(database_url), revision)


def head_revision() -> str | None:
    """The newest migration shipped with this version of lrhub."""
    return ScriptDirectory.from_config(alembic_config("sqlite:///unused.db")).get_current_head()


def current_revision(database_url: str) -> str | None:
    """The migration the database is at, or None for an empty database."""
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def upgrade_locked(database_url: str) -> None:
    """Upgrade unless at head, holding a file lock beside a SQLite database (many workers)."""
    head = head_revision()
    if current_revision(database_url) == head:
        return
    database = sync_url(database_url).database
    if not database:
        upgrade(database_url)
        return
    with open(f"{database}.migrate-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if current_revision(database_url) != head:
                upgrade(database_url)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
