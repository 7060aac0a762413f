"""Statements on a run's launches and the rank reports that wait at their report points."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from lrhub_service.db.models import Launch, RankReport, utcnow


class LaunchRows:
    """Every statement on ``launches`` and ``rank_reports``, bound to one connection."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn

    async def latest(self, run_id: int, key: str) -> Any:
        """The newest launch of a run with this key, or None."""
        query = (
            select(Launch)
            .where(Launch.run_id == run_id, Launch.launch_key == key)
            .order_by(Launch.id.desc())
            .limit(1)
        )
        return (await self.conn.execute(query)).first()

    async def add(self, run_id: int, key: str, **values: Any) -> None:
        await self.conn.execute(
            insert(Launch).values(run_id=run_id, launch_key=key, created_at=utcnow(), **values)
        )

    async def update(self, launch_id: int, **values: Any) -> None:
        await self.conn.execute(update(Launch).where(Launch.id == launch_id).values(**values))

    async def rank_reports(self, launch_id: int, step: int) -> list[Any]:
        """Rank, metrics and arrival time of every rank's report at ``step``, by rank."""
        query = (
            select(RankReport.rank, RankReport.metrics, RankReport.created_at)
            .where(RankReport.launch_id == launch_id, RankReport.step == step)
            .order_by(RankReport.rank)
        )
        return list((await self.conn.execute(query)).all())

    async def add_rank_report(
        self, run_id: int, launch_id: int, step: int, rank: int, metrics: dict[str, Any]
    ) -> None:
        await self.conn.execute(
            insert(RankReport).values(
                run_id=run_id,
                launch_id=launch_id,
                step=step,
                rank=rank,
                metrics=metrics,
                created_at=utcnow(),
            )
        )

    async def drop_rank_reports_at(self, launch_id: int, step: int) -> None:
        """Forget a launch's rank reports at a report point once it is decided."""
        await self.conn.execute(
            delete(RankReport).where(RankReport.launch_id == launch_id, RankReport.step == step)
        )

    async def drop_rank_reports(self, run_id: int, after_step: int = -1) -> None:
        """Forget the rank reports later than ``after_step`` (a resume or a restart)."""
        await self.conn.execute(
            delete(RankReport).where(RankReport.run_id == run_id, RankReport.step > after_step)
        )

    async def end_launches(self, run_id: int) -> None:
        """Forget every launch of a run (a restart: the next attach starts a new one)."""
        await self.drop_rank_reports(run_id)
        await self.conn.execute(delete(Launch).where(Launch.run_id == run_id))
