"""What the lrhub scheduler refuses, and why (no torch import).

Each refusal is a `SchedulerUsageError` (a ``ValueError``) whose message says what to do:
``step(number)`` on a run that is not metric-driven, a jump with ``step(epoch)``, a
parameter group added after attach, and a second lrhub scheduler on one optimizer.
"""

from __future__ import annotations

import weakref
from typing import Any

from lrhub.errors import SchedulerUsageError

# optimizer -> the lrhub scheduler driving it (weak both ways)
_drivers: weakref.WeakKeyDictionary[Any, weakref.ref[Any]] = weakref.WeakKeyDictionary()


def claim_optimizer(optimizer: Any) -> None:
    """Refuse an optimizer that a live, unclosed lrhub scheduler already drives."""
    ref = _drivers.get(optimizer)
    other = ref() if ref is not None else None
    if other is not None and not other.closed:
        raise SchedulerUsageError(
            f"this optimizer is already driven by the lrhub scheduler of run "
            f"{other.run.name!r}; two schedulers on one optimizer overwrite each other's "
            "values. Close it first (scheduler.close()), or put both schedules in one run "
            'spec: {"type": "ChainedScheduler", "schedulers": [...]}.'
        )


def register_driver(optimizer: Any, scheduler: Any) -> None:
    """Record ``scheduler`` as the one driving ``optimizer`` (until closed or collected)."""
    _drivers[optimizer] = weakref.ref(scheduler)


def check_step(
    scheduler: Any, metrics: Any, epoch: int | None, num_groups: int, metric_driven: bool
) -> None:
    """Refuse a ``step(metrics, epoch)`` call lrhub cannot honour."""
    groups = len(scheduler.optimizer.param_groups)
    name = scheduler.run.name
    if groups != num_groups:
        raise SchedulerUsageError(
            f"the optimizer has {groups} parameter groups but run {name!r} schedules "
            f"{num_groups}: optimizer.add_param_group() after attach leaves the new group "
            "unscheduled. Create the optimizer with every group before attaching, or attach "
            "a new run."
        )
    if epoch is not None and int(epoch) != scheduler.last_epoch + 1:
        raise SchedulerUsageError(
            f"step(epoch={epoch}) would jump from step {scheduler.last_epoch}; lrhub moves "
            "one step at a time. To continue at another step, load a checkpoint with "
            "scheduler.load_state_dict() or call run.resume(step) before attaching."
        )
    if metrics is not None and not metric_driven:
        raise SchedulerUsageError(
            f"step({metrics!r}) on run {name!r}, which is not metric-driven: lrhub does not "
            "take a number as a step to jump to (torch's deprecated step(epoch)) nor as a "
            "metric the schedule ignores. Call step() to move on; to continue at another "
            "step use scheduler.load_state_dict() or run.resume(step); to record a metric "
            "use run.report(step, metrics)."
        )
