"""A run's status, derived in one place from its metric state."""

from __future__ import annotations

from lrhub_service.engine import MetricState

STATUS_CREATED = "created"
STATUS_RUNNING = "running"
STATUS_STOPPED = "stopped"
STATUS_DIVERGED = "diverged"


def status_of(state: MetricState) -> str:
    """``diverged`` or ``stopped`` when the metric state says so, else ``running``."""
    if state.diverged:
        return STATUS_DIVERGED
    if state.stopped:
        return STATUS_STOPPED
    return STATUS_RUNNING
