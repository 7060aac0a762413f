"""Aggregate reads over a run's records for the dashboard: last reports, live workers,
reports bucketed by step (min and max per bucket, computed by the database)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from lrhub_service.db.models import Report, Worker


class SummaryReads:
    """Read-only aggregates on reports and workers (mixed into ``RunRecords``)."""

    conn: AsyncConnection

    async def last_report_steps(self, run_ids: Sequence[int]) -> dict[int, int]:
        """The last counted report step of each run that has one."""
        query = (
            select(Report.run_id, func.max(Report.step))
            .where(Report.run_id.in_(run_ids), Report.counted.is_(True))
            .group_by(Report.run_id)
        )
        return {int(r): int(s) for r, s in await self.conn.execute(query)}

    async def workers_seen_counts(self, run_ids: Sequence[int], since: datetime) -> dict[int, int]:
        """How many workers of each run were heard from at or after ``since``."""
        query = (
            select(Worker.run_id, func.count())
            .where(Worker.run_id.in_(run_ids), Worker.last_seen >= since)
            .group_by(Worker.run_id)
        )
        return {int(r): int(n) for r, n in await self.conn.execute(query)}

    async def workers(self, run_id: int) -> list[Any]:
        """Every worker of a run: identity, info, step, last seen; latest first."""
        query = (
            select(Worker.identity, Worker.info, Worker.step, Worker.last_seen)
            .where(Worker.run_id == run_id)
            .order_by(Worker.last_seen.desc())
        )
        return list((await self.conn.execute(query)).all())

    async def report_stamp(self, run_id: int) -> tuple[int, int | None]:
        """How many reports a run holds and its last report step (the dashboard's ETag)."""
        query = select(func.count(), func.max(Report.step)).where(Report.run_id == run_id)
        count, last = (await self.conn.execute(query)).one()
        return int(count), None if last is None else int(last)

    async def metric_names(self, run_id: int) -> list[str]:
        query = (
            select(Report.metric)
            .where(Report.run_id == run_id, Report.counted.is_(True))
            .group_by(Report.metric)
            .order_by(Report.metric)
        )
        return list((await self.conn.execute(query)).scalars())

    async def metric_extent(self, run_id: int, metric: str) -> tuple[int, int] | None:
        """The first and last step a metric was reported at (counted reports), or None."""
        query = select(func.min(Report.step), func.max(Report.step)).where(
            Report.run_id == run_id, Report.metric == metric, Report.counted.is_(True)
        )
        first, last = (await self.conn.execute(query)).one()
        return None if first is None else (int(first), int(last))

    async def metric_buckets(self, run_id: int, metric: str, first: int, width: int) -> list[Any]:
        """Per bucket of ``width`` steps from ``first``: first step, min and max of the
        finite values, and how many values were not finite; in step order."""
        bucket = ((Report.step - first) // width).label("bucket")
        query = (
            select(
                bucket,
                func.min(Report.step),
                func.min(Report.value),
                func.max(Report.value),
                func.count(Report.special),
            )
            .where(Report.run_id == run_id, Report.metric == metric, Report.counted.is_(True))
            .group_by(bucket)
            .order_by(bucket)
        )
        return list((await self.conn.execute(query)).all())
