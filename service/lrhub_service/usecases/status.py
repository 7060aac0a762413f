"""A run's status, derived in one place from its metric state and its archive stamp."""

from __future__ import annotations

from lrhub_service.engine import MetricState

STATUS_CREATED = "created"
STATUS_RUNNING = "running"
STATUS_STOPPED = "stopped"
STATUS_DIVERGED = "diverged"
STATUS_ARCHIVED = "archived"


def status_of(state: MetricState) -> str:
    """``diverged`` or ``stopped`` when the metric state says so, else ``running``."""
    if state.diverged:
        return STATUS_DIVERGED
    if state.stopped:
        return STATUS_STOPPED
    return STATUS_RUNNING


def public_status(stored: str, archived: bool) -> str:
    """The status a run shows: ``archived`` while archived, else its stored status.

    The stored status keeps tracking the metric state, so unarchiving restores it.
    """
    return STATUS_ARCHIVED if archived else stored
