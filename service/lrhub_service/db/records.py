"""Statements on a run's records: revisions, reports, events, workers and stored answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from lrhub_service.db.models import (
    Event,
    FoldSnapshot,
    IdempotencyKey,
    Report,
    Revision,
    Worker,
    utcnow,
)
from lrhub_service.db.summaries import SummaryReads

REVISION_COLUMNS = (
    Revision.revision,
    Revision.effective_step,
    Revision.schedule,
    Revision.clock,
    Revision.continue_value,
    Revision.clock_offset,
    Revision.scale,
    Revision.created_at,
)
FOLD_COLUMNS = (
    Report.effective_step,
    Report.step,
    Report.version,
    Report.metric,
    Report.value,
    Report.special,
)
FOLD_KEY = tuple_(Report.effective_step, Report.step, Report.version)
SNAPSHOT_KEY = tuple_(FoldSnapshot.effective_step, FoldSnapshot.step, FoldSnapshot.version)


class RunRecords(SummaryReads):
    """Every statement on the tables that hang off a run, bound to one connection (the
    summaries the dashboard reads: ``SummaryReads``)."""

    def __init__(self, conn: AsyncConnection, *, is_sqlite: bool) -> None:
        self.conn = conn
        self.is_sqlite = is_sqlite

    async def revisions(self, run_id: int) -> list[Any]:
        """Every revision of a run, oldest first."""
        query = select(*REVISION_COLUMNS).where(Revision.run_id == run_id)
        return list((await self.conn.execute(query.order_by(Revision.revision))).all())

    async def first_schedule(self, run_id: int) -> Any:
        query = select(Revision.schedule).where(Revision.run_id == run_id, Revision.revision == 1)
        return (await self.conn.execute(query)).scalar_one_or_none()

    async def add_revision(self, run_id: int, **values: Any) -> None:
        await self.conn.execute(
            insert(Revision).values(run_id=run_id, created_at=utcnow(), **values)
        )

    async def counted_reports_between(
        self,
        run_id: int,
        after: tuple[int, int, int] | None,
        before: tuple[int, int, int] | None,
        limit: int,
    ) -> list[Any]:
        """Up to ``limit`` counted report rows in fold order with ``after < key < before``
        (key: effective step, step, version; None: unbounded)."""
        query = select(*FOLD_COLUMNS).where(Report.run_id == run_id, Report.counted.is_(True))
        if after is not None:
            query = query.where(tuple_(*after) < FOLD_KEY)
        if before is not None:
            query = query.where(tuple_(*before) > FOLD_KEY)
        order = (Report.effective_step, Report.step, Report.version, Report.id)
        return list((await self.conn.execute(query.order_by(*order).limit(limit))).all())

    async def fold_snapshot(
        self, run_id: int, revision: int, before: tuple[int, int, int] | None = None
    ) -> Any:
        """The JSON text of the latest fold snapshot of a run at ``revision`` (with key <
        ``before``), or None."""
        query = select(FoldSnapshot.state).where(
            FoldSnapshot.run_id == run_id, FoldSnapshot.revision == revision
        )
        if before is not None:
            query = query.where(tuple_(*before) > SNAPSHOT_KEY)
        query = query.order_by(
            FoldSnapshot.effective_step.desc(),
            FoldSnapshot.step.desc(),
            FoldSnapshot.version.desc(),
        )
        return (await self.conn.execute(query.limit(1))).scalars().first()

    async def add_fold_snapshot(self, **values: Any) -> None:
        await self.conn.execute(insert(FoldSnapshot).values(created_at=utcnow(), **values))

    async def drop_fold_snapshots_after(self, run_id: int, key: tuple[int, int, int]) -> None:
        """Drop the snapshots a report with fold key ``key`` sorts before (a late report)."""
        await self.conn.execute(
            delete(FoldSnapshot).where(FoldSnapshot.run_id == run_id, tuple_(*key) < SNAPSHOT_KEY)
        )

    async def reports_at(self, run_id: int, step: int) -> list[Any]:
        """The counted reports of one step: metric, value, special, effective step, decision."""
        query = select(
            Report.metric, Report.value, Report.special, Report.effective_step, Report.decision
        ).where(Report.run_id == run_id, Report.step == step, Report.counted.is_(True))
        return list((await self.conn.execute(query)).all())

    async def add_reports(self, rows: Sequence[dict[str, Any]]) -> None:
        await self.conn.execute(insert(Report), list(rows))

    async def uncount_reports(self, run_id: int, after_step: int = -1) -> int:
        """Counted reports later than ``after_step`` stop counting; returns how many. The
        fold snapshots that folded any of them go too."""
        await self.conn.execute(
            delete(FoldSnapshot).where(
                FoldSnapshot.run_id == run_id, FoldSnapshot.max_report_step > after_step
            )
        )
        result = await self.conn.execute(
            update(Report)
            .where(Report.run_id == run_id, Report.counted.is_(True), Report.step > after_step)
            .values(counted=False)
        )
        return int(result.rowcount or 0)

    async def report_page(
        self, run_id: int, *, metric: str | None, after: int | None, limit: int
    ) -> list[Any]:
        """Stored reports (uncounted too) in step order, for listing."""
        query = select(
            Report.step,
            Report.version,
            Report.metric,
            Report.value,
            Report.special,
            Report.effective_step,
            Report.counted,
        ).where(Report.run_id == run_id)
        if metric is not None:
            query = query.where(Report.metric == metric)
        if after is not None:
            query = query.where(Report.step > after)
        query = query.order_by(Report.step, Report.version, Report.id).limit(limit)
        return list((await self.conn.execute(query)).all())

    async def metric_history(self, run_id: int, metric: str) -> list[Any]:
        """Counted values of one metric: step, value, special, decision; in step order."""
        query = (
            select(Report.step, Report.value, Report.special, Report.decision)
            .where(Report.run_id == run_id, Report.metric == metric, Report.counted.is_(True))
            .order_by(Report.step, Report.version)
        )
        return list((await self.conn.execute(query)).all())

    async def add_event(
        self, run_id: int, kind: str, step: int | None, data: dict[str, Any]
    ) -> None:
        await self.conn.execute(
            insert(Event).values(
                run_id=run_id, kind=kind, step=step, data=data, created_at=utcnow()
            )
        )

    async def events(self, run_id: int, *, limit: int, after: int | None) -> list[Any]:
        query = select(Event.id, Event.kind, Event.step, Event.data, Event.created_at).where(
            Event.run_id == run_id
        )
        if after is not None:
            query = query.where(Event.id > after)
        return list((await self.conn.execute(query.order_by(Event.id).limit(limit))).all())

    async def touch_worker(
        self, run_id: int, identity: str, info: dict[str, Any], step: int
    ) -> None:
        """Upsert the worker's row with the step it reached."""
        insert_ = sqlite_insert if self.is_sqlite else pg_insert
        now = utcnow()
        statement = insert_(Worker).values(
            run_id=run_id, identity=identity, info=info, step=step, last_seen=now
        )
        statement = statement.on_conflict_do_update(
            index_elements=[Worker.run_id, Worker.identity],
            set_={"info": statement.excluded.info, "step": step, "last_seen": now},
        )
        await self.conn.execute(statement)

    async def workers_seen_since(self, run_id: int, since: datetime) -> list[Any]:
        """The run's workers heard from at or after ``since``: identity, step, last seen."""
        query = (
            select(Worker.identity, Worker.step, Worker.last_seen)
            .where(Worker.run_id == run_id, Worker.last_seen >= since)
            .order_by(Worker.last_seen.desc())
        )
        return list((await self.conn.execute(query)).all())

    async def delete_history(self, run_id: int) -> dict[str, int]:
        """Delete everything that hangs off a run; how many rows of each kind went.

        Stored Idempotency-Key answers go too: those scoped to the run (``"advance:7"``...)
        and the get-or-create answers that created it (their body is the run, id first).
        """
        counts: dict[str, int] = {}
        for name, table in (
            ("revisions", Revision),
            ("reports", Report),
            ("events", Event),
            ("workers", Worker),
            ("fold_snapshots", FoldSnapshot),
        ):
            result = await self.conn.execute(delete(table).where(table.run_id == run_id))
            counts[name] = int(result.rowcount or 0)
        keys = await self.conn.execute(
            delete(IdempotencyKey).where(
                or_(
                    IdempotencyKey.scope.like(f"%:{run_id}"),
                    (IdempotencyKey.scope == "create")
                    & IdempotencyKey.body.like(f'{{"id":{run_id},%'),
                )
            )
        )
        counts["idempotency_keys"] = int(keys.rowcount or 0)
        return counts
