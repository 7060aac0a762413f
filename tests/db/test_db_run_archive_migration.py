"""Migration 0003_run_archive on both databases: stored runs survive it up and down, and a
deleted run's id is never handed to a newer run."""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, inspect, pool, text

from lrhub_service.db import migrate
from lrhub_service.db.urls import sync_url

INSERT_RUN = text(
    "INSERT INTO runs (name, schedule, options, revision, has_momentum, metric_driven, "
    "progress, horizon, next_step, state_version, status, created_at, updated_at) VALUES "
    "(:name, '{}', '{}', 1, false, false, 7, 9, 10, 0, 'running', "
    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
)
INSERT_EVENT = text(
    "INSERT INTO events (run_id, kind, step, data, created_at) "
    "VALUES (:run_id, 'created', 0, '{}', CURRENT_TIMESTAMP)"
)


def execute(url: str, statements: list[tuple[Any, dict[str, Any]]]) -> list[Any]:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            return [conn.execute(statement, params) for statement, params in statements]
    finally:
        engine.dispose()


def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def run_columns(url: str) -> set[str]:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return {column["name"] for column in inspect(conn).get_columns("runs")}
    finally:
        engine.dispose()


def test_runs_survive_0003_up_and_down(empty_database_url: str) -> None:
    url = empty_database_url
    migrate.upgrade(url, "0002")
    assert "archived_at" not in run_columns(url)
    execute(url, [(INSERT_RUN, {"name": "a"}), (INSERT_RUN, {"name": "b"})])
    (first,) = query(url, "SELECT id FROM runs WHERE name = 'a'")[0]
    execute(url, [(INSERT_EVENT, {"run_id": first})])

    migrate.upgrade(url, "0003_run_archive")
    assert "archived_at" in run_columns(url)
    rows = query(url, "SELECT id, name, progress, next_step, archived_at FROM runs ORDER BY id")
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [("a", 7, 10, None), ("b", 7, 10, None)]
    assert rows[0][0] == first
    assert query(url, "SELECT count(*) FROM events WHERE run_id = :id", id=first) == [(1,)]

    migrate.downgrade(url, "0002")
    assert "archived_at" not in run_columns(url)
    assert [r[0] for r in query(url, "SELECT name FROM runs ORDER BY id")] == ["a", "b"]
    migrate.upgrade(url)
    assert migrate.current_revision(url) == migrate.head_revision()
    assert "archived_at" in run_columns(url)


def test_a_deleted_runs_id_is_never_reused(empty_database_url: str) -> None:
    url = empty_database_url
    migrate.upgrade(url)
    execute(url, [(INSERT_RUN, {"name": "first"}), (INSERT_RUN, {"name": "newest"})])
    (newest,) = query(url, "SELECT max(id) FROM runs")[0]
    execute(url, [(text("DELETE FROM runs WHERE id = :id"), {"id": newest})])
    execute(url, [(INSERT_RUN, {"name": "after-delete"})])
    (after,) = query(url, "SELECT id FROM runs WHERE name = 'after-delete'")[0]
    assert after > newest
