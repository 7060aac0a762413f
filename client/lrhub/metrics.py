"""Metrics as the client sends them: a dict of floats, non-finite values as JSON text."""

from __future__ import annotations

import math
from collections.abc import Mapping


def metrics_dict(metrics: float | Mapping[str, float], name: str = "loss") -> dict[str, float]:
    """``{"loss": 0.5}`` from a number or a mapping of metric names to numbers."""
    items = dict(metrics) if isinstance(metrics, Mapping) else {name: metrics}
    if not items:
        raise ValueError("metrics must name at least one metric")
    out: dict[str, float] = {}
    for key, value in items.items():
        try:
            out[str(key)] = float(value)  # tensors and numpy scalars convert too
        except (TypeError, ValueError) as exc:
            raise TypeError(f"metric {key!r} must be a number, got {value!r}") from exc
    return out


def json_metric(value: float) -> float | str:
    """JSON has no NaN or infinity: send them as "NaN", "Infinity", "-Infinity"."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value
