"""Preview a schedule spec before launching a job: its values from step 0, nothing stored.

``evaluate_preview`` runs the real engine with no reports, so metric-driven types show
their curve before any metric arrives. Presentation (tables, sparklines, plots) is the
client CLI's (``lrhub.cli.curves``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lrhub_service.engine import Segment, SpecError, build_schedule, canonical_json, parse_spec

MAX_PREVIEW_STEPS = 1_000_000


@dataclass(frozen=True)
class Curve:
    """The evaluated preview: ``lrs[g][k]`` and ``momentums[g][k]`` for steps ``0..n-1``."""

    title: str
    lrs: list[list[float]]
    momentums: list[list[float]] | None
    notes: list[str]
    relative: bool = False  # no base lr was known: the lrs are factors of a base lr of 1

    @property
    def steps(self) -> int:
        return len(self.lrs[0])


def describe(spec: Mapping[str, Any]) -> str:
    """A short name of a (canonical) spec: ``Warmup(CosineAnnealingLR)``."""
    name = str(spec.get("type", "?"))
    inner = spec.get("schedule")
    if isinstance(inner, Mapping):
        return f"{name}({describe(inner)})"
    children = spec.get("schedulers")
    if isinstance(children, list) and children:
        return f"{name}[{', '.join(describe(c) for c in children if isinstance(c, Mapping))}]"
    return name


def evaluate_preview(
    spec_json: str | Mapping[str, Any],
    steps: int,
    groups: int = 1,
    base_lrs: Sequence[float] | None = None,
    steps_per_epoch: int | None = None,
) -> Curve:
    """Evaluate ``steps`` values of a spec; SpecError names any bad field."""
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_PREVIEW_STEPS:
        raise SpecError(f"must be an integer from 1 to {MAX_PREVIEW_STEPS}", "steps")
    if isinstance(groups, bool) or not isinstance(groups, int) or not 1 <= groups <= 64:
        raise SpecError("must be an integer from 1 to 64", "groups")
    if isinstance(spec_json, str):
        try:
            data = json.loads(spec_json)
        except json.JSONDecodeError as error:
            raise SpecError(
                f"not valid JSON: {error.msg} at column {error.colno}", "spec"
            ) from None
    else:
        data = spec_json
    spec = parse_spec(data)
    canonical = canonical_json(spec)
    notes: list[str] = []
    relative = False
    bases: list[float] | None = None
    if base_lrs is not None:
        bases = [float(b) for b in base_lrs]
        if groups not in (1, len(bases)):
            raise SpecError(f"expected {groups} values (one per group)", "base_lrs")
    elif spec.needs_base() or groups > 1:
        bases = [1.0] * groups  # the spec's own base_lr, where it has one, still wins
        if spec.needs_base():
            notes.append("no base_lr in the spec: values are factors of a base lr of 1.0")
            relative = True
    schedule = build_schedule(
        segments=[Segment(start=0, spec=spec, clock_offset=0, scale=None)],
        base_lrs=bases,
        base_momentums=None,
        steps_per_epoch=steps_per_epoch,
    )
    if schedule.metric_driven:
        notes.append("metric-driven: the curve assumes no metric reports")
    state = schedule.initial_state()
    lrs, momentums = schedule.window(0, steps, state)
    for group in lrs:
        if not all(math.isfinite(v) for v in group):
            raise SpecError("the schedule produced a non-finite value", "spec")
    title = describe(canonical)
    return Curve(
        title,
        [list(g) for g in lrs],
        [list(g) for g in momentums] if momentums else None,
        notes,
        relative,
    )
