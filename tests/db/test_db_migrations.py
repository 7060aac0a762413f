"""Migrations: up, down and up again on both databases; no drift between models and versions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, inspect, pool

from lrhub_service.db import migrate
from lrhub_service.db.models import Base
from lrhub_service.db.urls import sync_url

ROOT = Path(__file__).resolve().parents[2]


def tables(url: str) -> set[str]:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_up_down_up(empty_database_url: str) -> None:
    url = empty_database_url
    assert migrate.current_revision(url) is None
    migrate.upgrade(url)
    assert migrate.current_revision(url) == migrate.head_revision()
    assert tables(url) == set(Base.metadata.tables)
    migrate.downgrade(url, "base")
    assert migrate.current_revision(url) is None and tables(url) == set()
    migrate.upgrade(url)
    assert tables(url) == set(Base.metadata.tables)


def test_models_and_migrations_do_not_drift(database_url: str) -> None:
    command.check(migrate.alembic_config(database_url))  # raises on any difference


def test_alembic_check_from_the_repository_root(database_url: str) -> None:
    env = {**os.environ, "LRHUB_DATABASE_URL": database_url}
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr


def test_cli_db_commands(empty_database_url: str) -> None:
    def lrhub(*args: str) -> str:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "lrhub_service.cli",
                *args,
                "--database-url",
                empty_database_url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "current: empty" in lrhub("db", "current")
    head = migrate.head_revision()
    assert f"current: {head}" in lrhub("db", "upgrade")
    assert "current: empty" in lrhub("db", "downgrade", "base")
