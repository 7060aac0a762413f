"""`LRFinderResult`: a range test's curve and suggested LRs as the server stores them,
and how to turn a suggestion into a training run (``safe_lr``, ``create_run``)."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lrhub._plot import plot_range_test, summarize_range_test
from lrhub.client import Client
from lrhub.run import Run

DEFAULT_MARGIN = 0.8
PEAK_FIELDS = {"OneCycleLR": "max_lr", "CyclicLR": "max_lr"}


@dataclass(frozen=True)
class LRFinderResult:
    """A range test's curve and suggestions, as stored by the server.

    ``lrs[i]`` produced ``losses[i]`` (raw, reported at ``steps[i]``); ``smoothed`` is
    the server's debiased EMA (None after a NaN/inf loss). ``suggestions`` maps each
    method (``steepest``, ``valley``, ``min_div10``, ``minimum``) to an lr, or None when
    the curve does not show it; ``suggested_lr`` is ``steepest``.
    """

    run_id: int
    steps: list[int]
    lrs: list[float]
    losses: list[float]
    smoothed: list[float | None]
    suggestions: dict[str, float | None]
    stop_reason: str | None = None
    stop_step: int | None = None
    stop_lr: float | None = None
    metric: str = "loss"
    client: Client | None = field(default=None, repr=False, compare=False)

    @property
    def suggested_lr(self) -> float | None:
        """Where the smoothed loss falls fastest: the ceiling for a peak LR."""
        return self.suggestions.get("steepest")

    @property
    def diverged_lr(self) -> float | None:
        """The lr at which the test stopped for divergence (None if it did not)."""
        return self.stop_lr if self.stop_reason == "diverged" else None

    @classmethod
    def from_json(cls, data: dict[str, Any], client: Client | None = None) -> LRFinderResult:
        """From a ``GET /v1/runs/{id}/lr-finder`` body."""
        return cls(
            run_id=int(data["run_id"]),
            steps=[int(s) for s in data["steps"]],
            lrs=[float(v) for v in data["lrs"]],
            losses=[float(v) for v in data["losses"]],  # "NaN"/"Infinity" parse too
            smoothed=[None if v is None else float(v) for v in data["smoothed"]],
            suggestions={
                k: None if v is None else float(v) for k, v in data["suggestions"].items()
            },
            stop_reason=data.get("stop_reason"),
            stop_step=data.get("stop_step"),
            stop_lr=data.get("stop_lr"),
            metric=str(data.get("metric", "loss")),
            client=client,
        )

    @classmethod
    def fetch(cls, client: Client, run: int | str | Run) -> LRFinderResult:
        """Read a range test back from the server (by run, id or name), e.g. after a crash."""
        if not isinstance(run, Run):
            run = client.get_run(run) if isinstance(run, int) else client.get_run_by_name(run)
        return cls.from_json(client.request("GET", f"/v1/runs/{run.id}/lr-finder"), client)

    def safe_lr(self, method: str = "steepest", margin: float = DEFAULT_MARGIN) -> float:
        """``margin`` x the ``method`` suggestion, 0 < margin <= 1: the found LR is a
        ceiling, not a setting, so a schedule's peak should sit a little under it."""
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 < margin <= 1:
            raise ValueError(
                f"margin must be in (0, 1], got {margin!r}: the found LR is a ceiling, "
                "so the run's LR is margin x the suggestion"
            )
        if method not in self.suggestions:
            raise ValueError(f"method must be one of {sorted(self.suggestions)}, got {method!r}")
        lr = self.suggestions[method]
        if lr is None:
            raise ValueError(
                f"the range test of run {self.run_id} has no {method!r} suggestion (the loss "
                "never fell); rerun it with a wider range or more steps"
            )
        return lr * margin

    def schedule_with_lr(
        self,
        schedule: dict[str, Any],
        *,
        lr_field: str | None = None,
        method: str = "steepest",
        margin: float = DEFAULT_MARGIN,
    ) -> dict[str, Any]:
        """A copy of ``schedule`` with ``lr_field`` set to ``safe_lr(method, margin)``.

        ``lr_field`` defaults to ``max_lr`` for OneCycleLR/CyclicLR and ``base_lr`` for
        every other type; a dotted path (``schedule.max_lr``) reaches a nested spec.
        """
        if not isinstance(schedule, dict) or "type" not in schedule:
            raise TypeError("schedule must be a spec dict with a 'type'")
        spec = copy.deepcopy(schedule)
        path = (lr_field or PEAK_FIELDS.get(str(spec["type"]), "base_lr")).split(".")
        target = spec
        for part in path[:-1]:
            target = target.get(part) if isinstance(target, dict) else None
            if not isinstance(target, dict):
                raise ValueError(f"lr_field {'.'.join(path)!r}: schedule has no spec at {part!r}")
        if target.get(path[-1]) is not None:
            raise ValueError(
                f"schedule.{'.'.join(path)} is already set to {target[path[-1]]!r}; leave it "
                "out and it is filled from the range test's suggestion"
            )
        target[path[-1]] = self.safe_lr(method, margin)
        return spec

    def create_run(
        self,
        name: str,
        schedule: dict[str, Any],
        *,
        client: Client | None = None,
        lr_field: str | None = None,
        method: str = "steepest",
        margin: float = DEFAULT_MARGIN,
        **options: Any,
    ) -> Run:
        """Create a training run whose peak/base LR is ``margin`` x the suggestion, e.g.
        ``result.create_run("exp7", {"type": "OneCycleLR", "total_steps": 1000})``
        (see ``schedule_with_lr``); ``options`` go to ``Client.create_run``."""
        client = client or self.client or Client()
        spec = self.schedule_with_lr(schedule, lr_field=lr_field, method=method, margin=margin)
        return client.create_run(name, schedule=spec, **options)

    def plot(self, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
        """Write the curve (PNG or SVG by extension): log-scale lr, raw and smoothed
        loss, each suggestion a labelled vertical line. Needs matplotlib."""
        return plot_range_test(self, Path(path), title=title)

    def summary(self, width: int = 60) -> str:
        """The suggestions and a one-line sparkline of the smoothed curve, as text."""
        return summarize_range_test(self, width)
