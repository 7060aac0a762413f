"""A run's planned length: the step count its spec names (``total_steps``, ``T_max``...).

The engine evaluates any step, so "the whole horizon" of a run is read from its spec: the
largest length-like parameter found anywhere in it (nested specs too), or ``epochs`` times
the run's ``steps_per_epoch``. None when the spec names no length (an ``ExponentialLR``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

LENGTH_KEYS = ("total_steps", "num_training_steps", "num_steps", "T_max", "total_iters", "steps")
SUM_KEYS = ("warmup_steps", "stable_steps", "decay_steps")
FALLBACK_STEPS = 1000


def _specs(spec: Any) -> Iterator[dict[str, Any]]:
    """Every spec dict inside ``spec`` (itself first), walking lists and nested specs."""
    stack = [spec]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(v for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, dict | list))


def _lengths(spec: dict[str, Any], steps_per_epoch: int | None) -> Iterator[int]:
    def ints(*values: Any) -> list[int]:
        return [v for v in values if isinstance(v, int) and not isinstance(v, bool) and v > 0]

    yield from ints(*(spec.get(key) for key in LENGTH_KEYS))
    parts = ints(*(spec.get(key) for key in SUM_KEYS))
    if len(parts) > 1:
        yield sum(parts)
    milestones = spec.get("milestones")
    if isinstance(milestones, list):
        yield from (m + 1 for m in ints(*milestones))
    epochs = ints(spec.get("epochs"))
    if epochs and steps_per_epoch:
        yield epochs[0] * steps_per_epoch


def planned_steps(spec: Any, steps_per_epoch: int | None = None) -> int | None:
    """The step count a spec plans for, or None when it names none."""
    found = [n for item in _specs(spec) for n in _lengths(item, steps_per_epoch)]
    return max(found) if found else None


@lru_cache(maxsize=4096)
def _planned_of_text(schedule: str, options: str | None) -> int | None:
    steps_per_epoch = (json.loads(options) or {}).get("steps_per_epoch") if options else None
    return planned_steps(json.loads(schedule), steps_per_epoch)


def planned_end(row: Any) -> int | None:
    """The step count a run's current spec plans, counted from where its clock starts (the
    latest revision's ``clock_offset``: its start, on a ``restart`` clock); None: no plan.
    A row may hold its spec and options as JSON text (a scan): each text is parsed once."""
    if isinstance(row.schedule, str):
        planned = _planned_of_text(row.schedule, row.options)
    else:
        planned = planned_steps(row.schedule, (row.options or {}).get("steps_per_epoch"))
    if planned is None:
        return None
    return planned + (getattr(row, "clock_offset", None) or 0)


def span_of(row: Any, revision_step: int = 0) -> int:
    """How many steps the dashboard draws for a run: its plan, its progress and its latest
    revision's start, whichever reaches furthest (``FALLBACK_STEPS`` or a quarter past
    progress when the spec names no length). Not the horizon: windows run far ahead."""
    planned = planned_end(row)
    reached = max(row.progress, revision_step) + 1
    if planned is None:
        return max(FALLBACK_STEPS, reached * 5 // 4)
    return max(planned, reached)
