"""SQLAlchemy 2.0 typed models: the schema Alembic migrations create."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments an INTEGER PRIMARY KEY, so big ids use a variant there.
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timezone-aware now, for created/updated stamps."""
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    """Declarative base with a stable constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Run(Base):
    """One training run: its current schedule, base values, counters and status."""

    __tablename__ = "runs"
    __table_args__: ClassVar[dict[str, Any]] = {"sqlite_autoincrement": True}  # ids never reused

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    schedule: Mapped[dict[str, Any]] = mapped_column(JSON)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    base_lrs: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    base_momentums: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    num_groups: Mapped[int | None] = mapped_column(Integer, nullable=True)
    has_momentum: Mapped[bool] = mapped_column(Boolean, default=False)
    metric_driven: Mapped[bool] = mapped_column(Boolean, default=False)
    progress: Mapped[int] = mapped_column(BigInteger, default=0)
    horizon: Mapped[int] = mapped_column(BigInteger, default=-1)
    next_step: Mapped[int] = mapped_column(BigInteger, default=0)
    state_version: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="created")
    clean_exit: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Revision(Base):
    """A schedule segment: holds from ``effective_step`` until the next revision."""

    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("run_id", "revision"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    effective_step: Mapped[int] = mapped_column(BigInteger)
    schedule: Mapped[dict[str, Any]] = mapped_column(JSON)
    clock: Mapped[str] = mapped_column(String(16), default="global")
    continue_value: Mapped[bool] = mapped_column(Boolean, default=False)
    clock_offset: Mapped[int] = mapped_column(BigInteger, default=0)
    scale: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Report(Base):
    """One metric value reported at a step; ``counted`` is false once a resume rewinds past it."""

    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_run_step", "run_id", "step"),
        Index("ix_reports_run_fold", "run_id", "effective_step", "step", "version"),
        Index(
            "uq_reports_counted_key",
            "run_id",
            "step",
            "metric",
            unique=True,
            sqlite_where=text("counted"),
            postgresql_where=text("counted"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    step: Mapped[int] = mapped_column(BigInteger)
    metric: Mapped[str] = mapped_column(String(100))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    special: Mapped[str | None] = mapped_column(String(8), nullable=True)
    effective_step: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer)
    counted: Mapped[bool] = mapped_column(Boolean, default=True)
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    worker: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FoldSnapshot(Base):
    """A run's folded metric state after its counted reports up to a fold key, for one
    revision: a resume or a late report replays only the reports after it.

    Kept exact by the writes: uncounting reports drops the snapshots that folded any of
    them, and a report that sorts before a snapshot drops it.
    """

    __tablename__ = "fold_snapshots"
    __table_args__ = (
        Index("ix_fold_snapshots_run_key", "run_id", "revision", "effective_step", "step"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    effective_step: Mapped[int] = mapped_column(BigInteger)  # the fold key of the last
    step: Mapped[int] = mapped_column(BigInteger)  # report group folded in
    version: Mapped[int] = mapped_column(Integer)
    max_report_step: Mapped[int] = mapped_column(BigInteger)
    groups: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(Text)  # FoldedState as JSON (usecases.replay)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Event(Base):
    """The audit trail of a run."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_run_id_id", "run_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Worker(Base):
    """The last step each worker (host, pid, rank) said it reached."""

    __tablename__ = "workers"
    __table_args__ = (UniqueConstraint("run_id", "identity"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    identity: Mapped[str] = mapped_column(String(300))
    info: Mapped[dict[str, Any]] = mapped_column(JSON)
    step: Mapped[int] = mapped_column(BigInteger)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Launch(Base):
    """One launch of a job on a run: its world size, the start step its first attach fixed
    for every rank, the step its first resume set (``resumed_step``), and the ranks that
    attached (``members``: rank -> "host:pid")."""

    __tablename__ = "launches"
    __table_args__ = (Index("ix_launches_run_key", "run_id", "launch_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    launch_key: Mapped[str] = mapped_column(String(200))
    world_size: Mapped[int] = mapped_column(Integer)
    start_step: Mapped[int] = mapped_column(BigInteger)
    clean_exit: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    resumed_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    members: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RankReport(Base):
    """One rank's metrics at a report point of its launch, until every rank has reported
    (or the wait ran out) and the report point is decided on their mean."""

    __tablename__ = "rank_reports"
    __table_args__ = (UniqueConstraint("launch_id", "step", "rank"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    launch_id: Mapped[int] = mapped_column(ForeignKey("launches.id", ondelete="CASCADE"))
    step: Mapped[int] = mapped_column(BigInteger)
    rank: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)  # non-finite values as text
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiToken(Base):
    """A bearer token created with ``lrhub tokens create`` (only its SHA-256 is stored)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    scope: Mapped[str] = mapped_column(String(8))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class IdempotencyKey(Base):
    """The first answer to a write sent with an ``Idempotency-Key``, replayed on its retries.

    ``scope`` names the route and run (``"advance:7"``, ``"create"``); ``body`` is the JSON
    answer as sent (for ``advance``: the block taken, re-rendered on replay).
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    idem_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
