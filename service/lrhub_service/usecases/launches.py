"""Launches: the ranks of one job agree by construction, decided on the server.

A launch is one start of a job: the workers whose identity carries the same ``launch``
key (torchrun's run id, rendezvous address and restart count, or attach's ``launch_id``).
Its first attach fixes the start step (and the clean-exit flag it saw) for every rank of
the launch, and records the job's world size. A rank attaching to a launch whose slot for
its rank is taken (by another process) starts a new launch of the same key. Likewise the
first resume of a launch (a checkpoint loaded by every rank) rewinds the run; the other
ranks' resumes to the same step change nothing.

A report point of a launch with more than one rank is decided once, on the mean of every
rank's metrics: each rank's report is stored (``rank_reports``); the write that brings
the last rank decides, and until then a report answers ``pending`` (nothing decided, no
values) and the rank asks again. The first report of a point starts a wait of
``report_wait_s``; a report (or a rank asking again) after it decides on the mean of the
ranks that arrived. Nothing waits while holding a lock: every request is one short write.
Once decided, the mean is the step's counted report (its worker says how many ranks it is
the mean of) and the rank reports go; a rank reporting later gets the decision.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from lrhub_service.db.models import utcnow
from lrhub_service.usecases.errors import Conflict
from lrhub_service.usecases.report_list import json_metric
from lrhub_service.usecases.unit_of_work import RunWork


@dataclass(frozen=True)
class Member:
    """A worker's place in a launch: the launch's key, its rank and the world size."""

    key: str
    rank: int
    world_size: int
    process: str  # "host:pid", recorded as the holder of its rank in the launch


def member_of(worker: dict[str, Any] | None) -> Member | None:
    """The launch a worker says it belongs to (None: it names no launch)."""
    if not worker or not worker.get("launch"):
        return None
    process = f"{worker.get('host') or '?'}:{worker.get('pid') or '?'}"
    world_size = int(worker.get("world_size") or 1)
    return Member(str(worker["launch"]), int(worker.get("rank") or 0), world_size, process)


async def join(work: RunWork, worker: dict[str, Any] | None) -> tuple[int, bool | None] | None:
    """The start step and clean-exit flag of the worker's launch (None: no launch).

    The first attach of a launch fixes both at the run's progress and ``clean_exit``.
    """
    member = member_of(worker)
    if member is None:
        return None
    run = work.run
    launch = await work.launches.latest(run.id, member.key)
    slot = str(member.rank)
    if (
        launch is not None
        and launch.world_size == member.world_size
        and slot not in launch.members
        and member.rank < launch.world_size
    ):
        await work.launches.update(launch.id, members={**launch.members, slot: member.process})
        return int(launch.start_step), launch.clean_exit
    await work.launches.add(
        run.id,
        member.key,
        world_size=member.world_size,
        start_step=run.progress,
        clean_exit=run.clean_exit,
        members={slot: member.process},
    )
    return int(run.progress), run.clean_exit


async def resumed_by_another_rank(work: RunWork, worker: dict[str, Any] | None, step: int) -> bool:
    """Whether a rank of the worker's launch already resumed the run at ``step`` (so this
    resume, the same checkpoint loaded by another rank, changes nothing); else it notes
    that this launch resumes at ``step``."""
    member = member_of(worker)
    if member is None or member.world_size <= 1:
        return False
    launch = await work.launches.latest(work.run.id, member.key)
    if launch is None:
        return False
    if launch.resumed_step == step:
        return True
    await work.launches.update(launch.id, resumed_step=step)
    return False


@dataclass(frozen=True)
class Gathered:
    """A report point of a launch: the mean to decide on now, or what it still waits for."""

    mean: dict[str, float] | None
    ranks: int
    world_size: int
    wait_s: float

    def pending_answer(self, step: int) -> dict[str, Any]:
        """The report's answer while it waits for the launch's other ranks: ask again."""
        pending = {"ranks": self.ranks, "world_size": self.world_size, "wait_s": self.wait_s}
        return {
            "step": step,
            "effective_step": step,
            "decision": None,
            "stop": False,
            "diverged": False,
            "values": None,
            "window": None,
            "pending": pending,
        }


async def gather(
    work: RunWork, step: int, metrics: dict[str, float], worker: dict[str, Any] | None
) -> Gathered | None:
    """Store this rank's report at ``step``; the mean when every rank of its launch has
    reported (or the wait is over), else what is pending. None: no launch of several ranks
    (the report decides alone, as it is)."""
    member = member_of(worker)
    if member is None or member.world_size <= 1:
        return None
    run_id = work.run.id
    launch = await work.launches.latest(run_id, member.key)
    if launch is None or launch.world_size <= 1:
        return None
    sent = {name: json_metric(value) for name, value in metrics.items()}
    reports = await work.launches.rank_reports(launch.id, step)
    mine = next((r for r in reports if r.rank == member.rank), None)
    if mine is None:
        await work.launches.add_rank_report(run_id, launch.id, step, member.rank, sent)
        reports = [*reports, _Arrived(member.rank, sent, utcnow())]
    elif mine.metrics != sent:
        raise Conflict(
            f"rank {member.rank} already reported {mine.metrics} at step {step}; a rank's "
            "report is idempotent per step and cannot change",
            loc="metrics",
        )
    first = min(_aware(r.created_at) for r in reports)
    waited = (utcnow() - first).total_seconds()
    left = max(0.0, work.hub.settings.report_wait_s - waited)
    ranks = len(reports)
    if ranks < launch.world_size and left > 0:
        return Gathered(None, ranks, launch.world_size, round(left, 3))
    await work.launches.drop_rank_reports_at(launch.id, step)  # the counted mean stands
    return Gathered(_mean(r.metrics for r in reports), ranks, launch.world_size, 0.0)


@dataclass(frozen=True)
class _Arrived:
    rank: int
    metrics: dict[str, Any]
    created_at: datetime


def _aware(stamp: datetime) -> datetime:
    """SQLite gives naive datetimes back: they were stored in UTC."""
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=timezone.utc)


def _mean(reports: Any) -> dict[str, float]:
    """Per metric, the mean over the ranks that reported it (``math.fsum``: the same
    whatever order the ranks arrived in)."""
    values: dict[str, list[float]] = {}
    for metrics in reports:
        for name, value in metrics.items():
            values.setdefault(name, []).append(float(value))  # "NaN", "Infinity" parse too
    return {name: _average(items) for name, items in values.items()}


def _average(items: list[float]) -> float:
    try:
        return math.fsum(items) / len(items)
    except (ValueError, OverflowError):  # inf - inf, or finite values beyond float range
        return sum(items) / len(items)
