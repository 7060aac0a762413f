"""Launches and rank reports: a launch's world size and start step, fixed by its first
attach, and each rank's metrics at a report point until it is decided on their mean.

Revision ID: 0005_launches
Revises: 0004_fold_snapshots
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_launches"
down_revision: str | None = "0004_fold_snapshots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "launches",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("run_id", BIG_ID, nullable=False),
        sa.Column("launch_key", sa.String(length=200), nullable=False),
        sa.Column("world_size", sa.Integer(), nullable=False),
        sa.Column("start_step", sa.BigInteger(), nullable=False),
        sa.Column("clean_exit", sa.Boolean(), nullable=True),
        sa.Column("resumed_step", sa.BigInteger(), nullable=True),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_launches_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_launches")),
    )
    with op.batch_alter_table("launches") as batch:
        batch.create_index("ix_launches_run_key", ["run_id", "launch_key"])
    op.create_table(
        "rank_reports",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("run_id", BIG_ID, nullable=False),
        sa.Column("launch_id", BIG_ID, nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["launch_id"],
            ["launches.id"],
            name=op.f("fk_rank_reports_launch_id_launches"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_rank_reports_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rank_reports")),
        sa.UniqueConstraint("launch_id", "step", "rank", name=op.f("uq_rank_reports_launch_id")),
    )
    with op.batch_alter_table("rank_reports") as batch:
        batch.create_index(batch.f("ix_rank_reports_run_id"), ["run_id"])


def downgrade() -> None:
    with op.batch_alter_table("rank_reports") as batch:
        batch.drop_index(batch.f("ix_rank_reports_run_id"))
    op.drop_table("rank_reports")
    with op.batch_alter_table("launches") as batch:
        batch.drop_index("ix_launches_run_key")
    op.drop_table("launches")
