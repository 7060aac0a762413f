"""Use case: preview a schedule spec's curve before launching a job (nothing is stored).

``evaluate_preview`` evaluates the spec with the real engine (no reports, so metric-driven
types show their curve before any metric arrives). ``POST /v1/preview`` formats the curve
as a ``Window``; the client's ``lrhub preview`` (``lrhub.cli.curves``) as a table,
sparklines and a plot, through the ``lrhub.preview`` entry point (``cli/local_preview.py``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lrhub_service.engine import Segment, SpecError, build_schedule, canonical_json, parse_spec

MAX_PREVIEW_STEPS = 1_000_000
MAX_GROUPS = 64
MAX_VALUES = 2_000_000  # steps x groups of one preview


class PreviewInputError(SpecError):
    """A preview argument (not a field of the spec) is out of range; ``loc`` names it."""


@dataclass(frozen=True)
class Curve:
    """The evaluated preview: ``lrs[g][k]`` and ``momentums[g][k]`` for steps ``0..n-1``."""

    title: str
    lrs: list[list[float]]
    momentums: list[list[float]] | None
    notes: list[str]
    relative: bool = False  # no base lr was known: the lrs are factors of a base lr of 1
    stopped: bool = False

    @property
    def steps(self) -> int:
        return len(self.lrs[0])

    def window(self) -> dict[str, Any]:
        """The curve as the public ``Window`` from step 0 (a preview promises nothing)."""
        return {
            "start": 0,
            "count": self.steps,
            "revision": 0,
            "lrs": self.lrs,
            "momentums": self.momentums,
            "next_report": None,
            "stop": self.stopped,
            "promised_through": None,
        }


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
    *,
    base_momentums: Sequence[float] | None = None,
    max_steps: int = MAX_PREVIEW_STEPS,
    relative: bool = True,
) -> Curve:
    """Evaluate ``steps`` values of a spec from step 0.

    Without ``base_lrs`` a spec that needs them is shown relative to a base lr of 1 when
    ``relative``, else refused at ``base_lrs``. Raises ``PreviewInputError`` naming the
    argument (``steps``, ``groups``, ``base_lrs``, ``spec``) or ``SpecError`` naming the
    spec's field.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= max_steps:
        raise PreviewInputError(f"must be an integer from 1 to {max_steps}", "steps")
    if isinstance(groups, bool) or not isinstance(groups, int) or not 1 <= groups <= MAX_GROUPS:
        raise PreviewInputError(f"must be an integer from 1 to {MAX_GROUPS}", "groups")
    spec = parse_spec(_spec_data(spec_json))
    notes: list[str] = []
    bases: list[float] | None = None
    shown_relative = False
    if base_lrs is not None:
        bases = [float(b) for b in base_lrs]
        if groups not in (1, len(bases)):
            raise PreviewInputError(f"expected {groups} values (one per group)", "base_lrs")
    elif spec.needs_base() and not relative:
        raise PreviewInputError(
            "the spec has no base_lr: give base_lrs (one per parameter group)", "base_lrs"
        )
    elif spec.needs_base() or groups > 1:
        bases = [1.0] * groups  # the spec's own base_lr, where it has one, still wins
        if spec.needs_base():
            notes.append("no base_lr in the spec: values are factors of a base lr of 1.0")
            shown_relative = True
    schedule = build_schedule(
        segments=[Segment(start=0, spec=spec, clock_offset=0, scale=None)],
        base_lrs=bases,
        base_momentums=list(base_momentums) if base_momentums is not None else None,
        steps_per_epoch=steps_per_epoch,
    )
    if schedule.num_groups * steps > MAX_VALUES:
        raise PreviewInputError(f"steps x groups must be <= {MAX_VALUES}", "steps")
    if schedule.metric_driven:
        notes.append("metric-driven: the curve assumes no metric reports")
    state = schedule.initial_state()
    lr_table, momentum_table = schedule.window(0, steps, state)
    lrs = lr_table.tolist()
    for group in lrs:
        if not all(math.isfinite(v) for v in group):
            raise SpecError("the schedule produced a non-finite value", "spec")
    return Curve(
        describe(canonical_json(spec)),
        lrs,
        momentum_table.tolist() if momentum_table is not None else None,
        notes,
        shown_relative,
        state.stopped,
    )


def _spec_data(spec_json: str | Mapping[str, Any]) -> Any:
    if not isinstance(spec_json, str):
        return spec_json
    try:
        return json.loads(spec_json)
    except json.JSONDecodeError as error:
        raise PreviewInputError(
            f"not valid JSON: {error.msg} at column {error.colno}", "spec"
        ) from None
