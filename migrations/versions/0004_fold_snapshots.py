"""Fold snapshots: a run's folded metric state every so many reports, and the reports'
fold-order index, so a resume or a late report replays only the reports after a snapshot.

Revision ID: 0004_fold_snapshots
Revises: 0003_run_archive
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_fold_snapshots"
down_revision: str | None = "0003_run_archive"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "fold_snapshots",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("run_id", BIG_ID, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("effective_step", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("max_report_step", sa.BigInteger(), nullable=False),
        sa.Column("groups", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_fold_snapshots_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fold_snapshots")),
    )
    with op.batch_alter_table("fold_snapshots") as batch:
        batch.create_index(
            "ix_fold_snapshots_run_key", ["run_id", "revision", "effective_step", "step"]
        )
    with op.batch_alter_table("reports") as batch:
        batch.create_index("ix_reports_run_fold", ["run_id", "effective_step", "step", "version"])


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_index("ix_reports_run_fold")
    with op.batch_alter_table("fold_snapshots") as batch:
        batch.drop_index("ix_fold_snapshots_run_key")
    op.drop_table("fold_snapshots")
