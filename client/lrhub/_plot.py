"""Pictures and text of a range test's curve (matplotlib only when plotting)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"
FORMATS = {".png": "png", ".svg": "svg"}
STYLES = {  # method -> (color, line style, label)
    "steepest": ("tab:red", "-", "steepest descent"),
    "valley": ("tab:green", "--", "valley"),
    "min_div10": ("tab:purple", "-.", "minimum / 10"),
    "minimum": ("tab:gray", ":", "minimum"),
}


class RangeTestCurve(Protocol):
    """What is drawn of a range test (``lrhub.LRFinderResult`` is one)."""

    @property
    def run_id(self) -> int: ...
    @property
    def metric(self) -> str: ...
    @property
    def lrs(self) -> list[float]: ...
    @property
    def losses(self) -> list[float]: ...
    @property
    def smoothed(self) -> list[float | None]: ...
    @property
    def suggestions(self) -> dict[str, float | None]: ...
    @property
    def diverged_lr(self) -> float | None: ...
    @property
    def stop_reason(self) -> str | None: ...
    @property
    def stop_step(self) -> int | None: ...
    @property
    def stop_lr(self) -> float | None: ...


def plot_range_test(result: RangeTestCurve, path: Path, *, title: str | None = None) -> Path:
    """Write ``result``'s curve to ``path`` (.png or .svg) with the Agg canvas."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"path must end in .png or .svg, got {str(path)!r}")
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            "LRFinderResult.plot needs matplotlib: pip install matplotlib "
            "(or pip install 'lrhub[server]')"
        ) from exc
    if not result.lrs:
        raise ValueError(f"run {result.run_id} has no reported losses to plot")
    figure = Figure(figsize=(8, 5), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.plot(result.lrs, result.losses, color="tab:blue", alpha=0.35, lw=1, label="raw loss")
    smooth_lrs = [lr for lr, s in zip(result.lrs, result.smoothed, strict=True) if s is not None]
    smooth = [s for s in result.smoothed if s is not None]
    axes.plot(smooth_lrs, smooth, color="tab:blue", lw=2, label="smoothed loss")
    for method, lr in result.suggestions.items():
        if lr is None:
            continue
        color, style, label = STYLES.get(method, ("black", "-", method))
        axes.axvline(lr, color=color, ls=style, lw=1.5, label=f"{label}: {lr:.2e}")
    if result.diverged_lr is not None:
        axes.axvline(
            result.diverged_lr,
            color="black",
            lw=1,
            alpha=0.6,
            label=f"stopped (diverged): {result.diverged_lr:.2e}",
        )
    axes.set_xscale("log")
    low, high = _loss_limits(result.losses, smooth)
    if low < high:
        axes.set_ylim(low, high)
    axes.set_xlabel("learning rate (log scale)")
    axes.set_ylabel(result.metric)
    axes.set_title(title or f"LR range test (run {result.run_id})")
    axes.grid(True, which="both", alpha=0.25)
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format=fmt)
    return path


def _loss_limits(raw: Sequence[float], smooth: Sequence[float]) -> tuple[float, float]:
    """Y limits that show the descent: the diverging tail is cut at 1.3x the highest
    smoothed loss before the minimum."""
    finite = [v for v in raw if math.isfinite(v)] + list(smooth)
    if not finite:
        return 0.0, 0.0
    low = min(finite)
    if smooth:
        lowest = min(range(len(smooth)), key=smooth.__getitem__)
        high = min(max(finite), 1.3 * max(smooth[: lowest + 1]))
    else:
        high = max(finite)
    pad = (high - low) * 0.05 or abs(high) * 0.05 or 1.0
    return low - pad, high + pad


def sparkline(values: Sequence[float | None], width: int, cap: float = math.inf) -> str:
    """``values`` resampled to ``width`` blocks (a space where a value is missing); values
    above ``cap`` show as the top block."""
    if not values:
        return ""
    picks = [values[min(len(values) - 1, i * len(values) // width)] for i in range(width)]
    if len(values) < width:
        picks = list(values)
    picks = [v if v is None or not v > cap else cap for v in picks]
    finite = [v for v in picks if v is not None and math.isfinite(v)]
    if not finite:
        return " " * len(picks)
    low, high = min(finite), max(finite)
    top = len(SPARK_BLOCKS) - 1
    out = []
    for v in picks:
        if v is None or not math.isfinite(v):
            out.append(" ")
        else:
            out.append(SPARK_BLOCKS[round((v - low) / (high - low) * top) if high > low else 0])
    return "".join(out)


def summarize_range_test(result: RangeTestCurve, width: int = 60) -> str:
    """Suggestions, the stop and a sparkline of the smoothed loss, as text."""
    lines = [f"LR range test, run {result.run_id}: {len(result.lrs)} losses"]
    if result.stop_reason:
        lines.append(
            f"stopped at step {result.stop_step} ({result.stop_reason}), lr {result.stop_lr:.3e}"
        )
    else:
        lines.append("not stopped (still running, or the client stopped reporting)")
    lines.append("suggestions:")
    for method, lr in result.suggestions.items():
        label = STYLES.get(method, (None, None, method))[2]
        value = "-" if lr is None else f"{lr:.3e}"
        lines.append(f"  {method:<10} {value:>10}   {label}")
    if result.lrs:
        smoothed = [s for s in result.smoothed if s is not None]
        lo, hi = (min(smoothed), max(smoothed)) if smoothed else (math.nan, math.nan)
        lines.append(
            f"smoothed {result.metric} ({lo:.4g} .. {hi:.4g}) against lr "
            f"{result.lrs[0]:.1e} .. {result.lrs[-1]:.1e}:"
        )
        cap = _loss_limits([], smoothed)[1] if smoothed else math.inf
        lines.append("  " + sparkline(result.smoothed, width, cap))
    return "\n".join(lines)
