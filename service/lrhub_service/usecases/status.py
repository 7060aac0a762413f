"""A run's status, derived in one place from its metric state, progress and archive stamp.

The public statuses: ``created`` (no worker yet), ``running``, ``stalled`` (running, not
finished, and no write for ``STALLED_AFTER_S`` seconds), ``finished`` (progress reached the
last step the current spec plans, counted from its clock's start, or a worker said it
exited cleanly), ``stopped`` and ``diverged``
(the metric state says so), ``archived``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from lrhub_service.engine import MetricState
from lrhub_service.usecases.plan import planned_end

STATUS_CREATED = "created"
STATUS_RUNNING = "running"
STATUS_STALLED = "stalled"
STATUS_FINISHED = "finished"
STATUS_STOPPED = "stopped"
STATUS_DIVERGED = "diverged"
STATUS_ARCHIVED = "archived"
STATUSES = (
    STATUS_CREATED,
    STATUS_RUNNING,
    STATUS_STALLED,
    STATUS_FINISHED,
    STATUS_STOPPED,
    STATUS_DIVERGED,
    STATUS_ARCHIVED,
)
DERIVED_FROM_RUNNING = (STATUS_RUNNING, STATUS_STALLED, STATUS_FINISHED)
STALLED_AFTER_S = 600.0
"""A running run with no write (progress, report, attach...) for this long is ``stalled``."""


def status_of(state: MetricState) -> str:
    """The stored status: ``diverged`` or ``stopped`` when the metric state says so, else
    ``running``."""
    if state.diverged:
        return STATUS_DIVERGED
    if state.stopped:
        return STATUS_STOPPED
    return STATUS_RUNNING


def public_status(stored: str, archived: bool) -> str:
    """The coarse status of a stored one: ``archived`` while archived, else as stored.

    The stored status keeps tracking the metric state, so unarchiving restores it.
    """
    return STATUS_ARCHIVED if archived else stored


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def run_status(row: Any, now: datetime | None = None) -> str:
    """The status a run shows (module docstring): the one rule for a runs row."""
    coarse = public_status(row.status, row.archived_at is not None)
    if coarse != STATUS_RUNNING:
        return coarse
    planned = planned_end(row)
    if row.clean_exit or (planned is not None and row.progress >= planned - 1):
        return STATUS_FINISHED
    now = now if now is not None else datetime.now(timezone.utc)
    if (now - _utc(row.updated_at)).total_seconds() > STALLED_AFTER_S:
        return STATUS_STALLED
    return STATUS_RUNNING
