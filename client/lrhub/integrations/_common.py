"""Helpers shared by the framework callbacks."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import Any

from lrhub.scheduler import LrhubScheduler  # the frameworks bring torch


def find_scheduler(candidates: Iterable[Any]) -> Any | None:
    """The first lrhub scheduler among ``candidates`` (None when there is none)."""
    for candidate in candidates:
        if isinstance(candidate, LrhubScheduler):
            return candidate
    return None


def report_metric(scheduler: Any, name: str, value: Any) -> bool:
    """Report ``{name: value}`` at the scheduler's current step; returns whether the run
    asks the job to stop (range test finished, divergence detected)."""
    number = float(value)
    if not math.isfinite(number):
        warnings.warn(f"lrhub: reporting a non-finite {name}={number}", stacklevel=3)
    scheduler.report({name: number})
    return bool(scheduler.should_stop)
