"""A run's archive stamp (archived runs are hidden from lists and read-only); on SQLite, run
ids that are never reused, now that runs can be deleted.

Revision ID: 0003_run_archive
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_run_archive"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    # SQLite hands a deleted row's id to the next insert unless the key is AUTOINCREMENT:
    # a worker still holding a deleted run's id must never reach a newer run. PostgreSQL's
    # sequence never reuses an id.
    sqlite = _is_sqlite()
    with op.batch_alter_table(
        "runs",
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": True} if sqlite else {},
    ) as batch:
        batch.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    sqlite = _is_sqlite()
    with op.batch_alter_table(
        "runs",
        recreate="always" if sqlite else "auto",
        table_kwargs={"sqlite_autoincrement": False} if sqlite else {},
    ) as batch:
        batch.drop_column("archived_at")
