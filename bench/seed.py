"""Fill a database fast by cloning rows the API created (column lists from lrhub's models).

Cloning a real row keeps every column the service writes, so the bench survives schema
changes that add columns; only the columns named here are varied.
"""

from __future__ import annotations

import psycopg
from psycopg import sql


def _columns(table: str) -> list[str]:
    from lrhub_service.db.models import Base

    return [c.name for c in Base.metadata.tables[table].columns if c.name != "id"]


def _select_list(columns: list[str], overrides: dict[str, str]) -> sql.Composed:
    return sql.SQL(", ").join(
        sql.SQL(overrides[c]) if c in overrides else sql.Identifier(c) for c in columns
    )


def clone_runs(database_url: str, source_run: int, count: int, prefix: str) -> int:
    """Copy run `source_run` (and its revisions) `count` times; return the middle clone's id."""
    runs, revisions = _columns("runs"), _columns("revisions")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "INSERT INTO runs ({cols}) SELECT {values} FROM runs,"
                " generate_series(1, %(n)s) AS g WHERE runs.id = %(src)s ORDER BY g"
            ).format(
                cols=sql.SQL(", ").join(map(sql.Identifier, runs)),
                values=_select_list(runs, {"name": "%(prefix)s || lpad(g::text, 6, '0')"}),
            ),
            {"n": count, "src": source_run, "prefix": prefix},
        )
        conn.execute(
            sql.SQL(
                "INSERT INTO revisions ({cols}) SELECT {values} FROM revisions AS rev"
                " JOIN runs AS clone ON clone.name LIKE %(pattern)s WHERE rev.run_id = %(src)s"
            ).format(
                cols=sql.SQL(", ").join(map(sql.Identifier, revisions)),
                values=_select_list(
                    revisions,
                    {c: f"rev.{c}" for c in revisions} | {"run_id": "clone.id"},
                ),
            ),
            {"src": source_run, "pattern": prefix + "%"},
        )
        row = conn.execute(
            "SELECT id FROM runs WHERE name = %s", (f"{prefix}{count // 2:06d}",)
        ).fetchone()
    assert row is not None
    return int(row[0])


def clone_reports(database_url: str, run_id: int, count: int) -> None:
    """Copy the run's one stored report to steps 1..count with a noisy, slowly falling loss."""
    columns = _columns("reports")
    overrides = {
        "step": "g",
        "effective_step": "g",
        "version": "g",
        "value": "1.0 + 0.5 * cos(g / 40.0) + 1000.0 / (g + 10)",
    }
    with psycopg.connect(database_url, autocommit=True) as conn:
        source = conn.execute(
            "SELECT id FROM reports WHERE run_id = %s ORDER BY id LIMIT 1", (run_id,)
        ).fetchone()
        assert source is not None, "the run has no report to clone"
        conn.execute("DELETE FROM reports WHERE run_id = %s AND id <> %s", (run_id, source[0]))
        conn.execute(
            sql.SQL(
                "INSERT INTO reports ({cols}) SELECT {values} FROM reports,"
                " generate_series(2, %(n)s) AS g WHERE reports.id = %(src)s"
            ).format(
                cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
                values=_select_list(columns, {c: v for c, v in overrides.items() if c in columns}),
            ),
            {"n": count, "src": source[0]},
        )
