"""A schedule's curve as people read it: sparklines, a table of sampled steps, a plot."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 60
TABLE_ROWS = 11
PLOT_SUFFIXES = (".png", ".svg")


@dataclass(frozen=True)
class Curve:
    """Values at ``steps[i]``: ``lrs[g][i]`` and ``momentums[g][i]`` per parameter group."""

    title: str
    steps: list[int]
    lrs: list[list[float]]
    momentums: list[list[float]] | None = None
    notes: list[str] = field(default_factory=list)
    relative: bool = False  # no base lr was known: the lrs are factors of a base lr of 1

    @classmethod
    def from_window(cls, title: str, window: dict[str, Any], notes: Sequence[str] = ()) -> Curve:
        """A curve from a ``Window`` answer (consecutive steps from ``start``)."""
        start, count = int(window["start"]), int(window["count"])
        return cls(
            title,
            list(range(start, start + count)),
            [list(map(float, column)) for column in window["lrs"]],
            [list(map(float, c)) for c in window["momentums"]] if window.get("momentums") else None,
            list(notes),
            bool(window.get("relative", False)),
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


def wants_log_scale(columns: Sequence[Sequence[float]]) -> bool:
    """Whether values span several decades with most of them near the bottom (a range test)."""
    values = sorted(v for column in columns for v in column)
    if not values or values[0] <= 0:
        return False
    return values[-1] > 1e3 * values[0] and values[len(values) // 2] < values[-1] / 100


def _table_rows(count: int) -> list[int]:
    """Indices of evenly spaced samples, the first and the last included."""
    if count <= TABLE_ROWS:
        return list(range(count))
    stride = count / (TABLE_ROWS - 1)
    return sorted({min(count - 1, round(i * stride)) for i in range(TABLE_ROWS - 1)} | {count - 1})


def format_curve(curve: Curve) -> str:
    """Header, one sparkline per group (lr, then momentum), and a table of sampled steps."""
    groups = len(curve.lrs)
    span = f"steps {curve.steps[0]}..{curve.steps[-1]}" if curve.steps else "no steps"
    lines = [f"{curve.title}: {span}, {groups} group{'s' * (groups > 1)}"]
    lines += [f"note: {note}" for note in curve.notes]
    log = wants_log_scale(curve.lrs)
    if log:
        lines.append("note: the lr sparklines use a log scale")
    for g, values in enumerate(curve.lrs):
        lines.append(
            f"lr[{g}]  {sparkline(values, log=log)}  min {min(values):.6g}  max {max(values):.6g}"
        )
    for g, values in enumerate(curve.momentums or []):
        lines.append(f"mom[{g}] {sparkline(values)}  min {min(values):.6g}  max {max(values):.6g}")
    header = ["step"] + [f"lr[{g}]" for g in range(groups)]
    header += [f"momentum[{g}]" for g in range(len(curve.momentums or []))]
    rows = [header]
    for i in _table_rows(len(curve.steps)):
        row = [str(curve.steps[i])] + [f"{values[i]:.6g}" for values in curve.lrs]
        row += [f"{values[i]:.6g}" for values in curve.momentums or []]
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines += ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def plot_curve(curve: Curve, path: Path) -> Path:
    """Write a labelled PNG or SVG (by suffix): lr per group, momentum on a twin axis."""
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise ValueError(f"--plot: use a .png or .svg file name, not {path.name!r}")
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise ValueError("--plot needs matplotlib: pip install 'lrhub[plot]'") from None
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"
    import matplotlib.pyplot as plt

    figure, lr_axis = plt.subplots(figsize=(8, 4.5))
    try:
        lines = _draw(curve, lr_axis)
        lr_axis.legend(
            lines,
            [line.get_label() for line in lines],
            loc="upper center",
            bbox_to_anchor=(0.5, -0.14),
            ncol=min(4, len(lines)),
            frameon=False,
        )
        lr_axis.set_title(f"{curve.title} ({len(curve.steps)} steps)")
        figure.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=120, bbox_inches="tight")
    finally:
        plt.close(figure)
    return path


def _draw(curve: Curve, lr_axis: Any) -> list[Any]:
    lines = []
    for g, values in enumerate(curve.lrs):
        label = "learning rate" if len(curve.lrs) == 1 else f"learning rate, group {g}"
        lines += lr_axis.plot(curve.steps, values, label=label, linewidth=1.8)
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
                curve.steps, values, "--", label=label, linewidth=1.4, color=color
            )
        momentum_axis.set_ylabel("momentum")
    return lines
