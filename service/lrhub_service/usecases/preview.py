"""Preview a schedule spec before launching a job: a table, a sparkline and a plot.

``render_preview`` evaluates the spec with the real engine (no reports, so
metric-driven types show their curve before any metric arrives), returns the
text shown by ``lrhub preview`` and, when asked, writes a labelled PNG or SVG.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lrhub_service.engine import Segment, SpecError, build_schedule, canonical_json, parse_spec

MAX_PREVIEW_STEPS = 1_000_000
SPARK_BLOCKS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 60
TABLE_ROWS = 11
PLOT_SUFFIXES = (".png", ".svg")


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
    lr_table, momentum_table = schedule.window(0, steps, state)
    lrs = lr_table.tolist()
    for group in lrs:
        if not all(math.isfinite(v) for v in group):
            raise SpecError("the schedule produced a non-finite value", "spec")
    title = describe(canonical)
    return Curve(
        title,
        lrs,
        momentum_table.tolist() if momentum_table is not None else None,
        notes,
        relative,
    )


def sparkline(values: Sequence[float], width: int = SPARK_WIDTH, log: bool = False) -> str:
    """``values`` as unicode blocks, sampled down to at most ``width`` characters."""
    if not values:
        return ""
    count = min(width, len(values))
    picks = [values[round(i * (len(values) - 1) / max(1, count - 1))] for i in range(count)]
    if log:
        picks = [math.log10(v) for v in picks]
    low, high = min(picks), max(picks)
    if high - low <= abs(high) * 1e-12:
        return SPARK_BLOCKS[3] * count
    scale = (len(SPARK_BLOCKS) - 1) / (high - low)
    return "".join(SPARK_BLOCKS[round((v - low) * scale)] for v in picks)


def _table_steps(steps: int) -> list[int]:
    """Evenly spaced round steps, plus the last one."""
    if steps <= TABLE_ROWS:
        return list(range(steps))
    stride = steps / (TABLE_ROWS - 1)
    return sorted({min(steps - 1, round(i * stride)) for i in range(TABLE_ROWS - 1)} | {steps - 1})


def wants_log_scale(columns: Sequence[Sequence[float]]) -> bool:
    """Whether the values read better on a log scale: they span several decades and most
    of them would hug the bottom of a linear axis (an lr range test, not a one-cycle)."""
    values = sorted(v for column in columns for v in column)
    if not values or values[0] <= 0:
        return False
    return values[-1] > 1e3 * values[0] and values[len(values) // 2] < values[-1] / 100


def format_curve(curve: Curve) -> str:
    """The text of ``lrhub preview``: header, sparklines, a table of sampled steps."""
    groups = len(curve.lrs)
    lines = [f"{curve.title}: {curve.steps} steps, {groups} group{'s' * (groups > 1)}"]
    lines += [f"note: {note}" for note in curve.notes]
    log = wants_log_scale(curve.lrs)
    if log:
        lines.append("note: the lr sparklines use a log scale")
    for g, values in enumerate(curve.lrs):
        spark = sparkline(values, log=log)
        lines.append(f"lr[{g}]  {spark}  min {min(values):.6g}  max {max(values):.6g}")
    for g, values in enumerate(curve.momentums or []):
        lines.append(f"mom[{g}] {sparkline(values)}  min {min(values):.6g}  max {max(values):.6g}")
    header = ["step"] + [f"lr[{g}]" for g in range(groups)]
    header += [f"momentum[{g}]" for g in range(len(curve.momentums or []))]
    rows = [header]
    for step in _table_steps(curve.steps):
        row = [str(step)] + [f"{values[step]:.6g}" for values in curve.lrs]
        row += [f"{values[step]:.6g}" for values in curve.momentums or []]
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines += ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def plot_curve(curve: Curve, path: Path) -> Path:
    """Write a labelled plot (PNG or SVG by suffix): lr per group, momentum on a twin axis."""
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise SpecError(f"use a .png or .svg file name, not {path.name!r}", "plot")
    figure = build_figure(curve)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=120, bbox_inches="tight")
    finally:
        import matplotlib.pyplot as plt

        plt.close(figure)
    return path


def build_figure(curve: Curve) -> Any:
    """The matplotlib Figure of a curve (Agg backend, SVG text kept as text)."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"
    import matplotlib.pyplot as plt

    figure, lr_axis = plt.subplots(figsize=(8, 4.5))
    steps = range(curve.steps)
    lines = []
    for g, values in enumerate(curve.lrs):
        label = "learning rate" if len(curve.lrs) == 1 else f"learning rate, group {g}"
        lines += lr_axis.plot(steps, values, label=label, linewidth=1.8)
    log = wants_log_scale(curve.lrs)
    if log:
        lr_axis.set_yscale("log")
    lr_axis.set_xlabel("step")
    label = "learning rate / base lr" if curve.relative else "learning rate"
    lr_axis.set_ylabel(f"{label} (log scale)" if log else label)
    lr_axis.grid(True, alpha=0.3)
    if curve.momentums:
        momentum_axis = lr_axis.twinx()
        columns = curve.momentums
        shared = all(column == columns[0] for column in columns)
        for g, values in enumerate(columns[:1] if shared else columns):
            label = "momentum" if shared else f"momentum, group {g}"
            color = f"C{len(curve.lrs) + g}"
            lines += momentum_axis.plot(
                steps, values, "--", label=label, linewidth=1.4, color=color
            )
        momentum_axis.set_ylabel("momentum")
    lr_axis.legend(
        lines,
        [line.get_label() for line in lines],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.14),
        ncol=min(4, len(lines)),
        frameon=False,
    )
    lr_axis.set_title(f"{curve.title} preview ({curve.steps} steps)")
    figure.tight_layout()
    return figure


def render_preview(
    spec_json: str | Mapping[str, Any],
    steps: int,
    groups: int = 1,
    base_lrs: Sequence[float] | None = None,
    plot: Path | str | None = None,
    steps_per_epoch: int | None = None,
) -> str:
    """The preview text of a spec; writes the plot to ``plot`` (.png/.svg) when given."""
    if plot is not None and Path(plot).suffix.lower() not in PLOT_SUFFIXES:
        raise SpecError(f"use a .png or .svg file name, not {Path(plot).name!r}", "plot")
    curve = evaluate_preview(spec_json, steps, groups, base_lrs, steps_per_epoch)
    text = format_curve(curve)
    if plot is not None:
        written = plot_curve(curve, Path(plot))
        text += f"\nplot written to {written}"
    return text
