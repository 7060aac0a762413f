"""`lrhub.find_lr`: the LR range test, driven by the server, run on your model.

The server holds the ramp (an ``LRRangeTest`` run), stores every loss, smooths it and
decides when to stop; this module trains on your batches with the server's learning
rates, then puts the model and the optimizer back exactly as they were. Needs torch.
"""

from __future__ import annotations

import math
import os
import uuid
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lrhub._finder_training import (
    LossFn,
    TrainingSnapshot,
    criterion_loss,
    cycle,
    progress_bar,
    train_step,
)
from lrhub.client import Client
from lrhub.errors import LrhubError
from lrhub.identity import detect_identity
from lrhub.run import Run
from lrhub.types import ReportResult

if TYPE_CHECKING:
    import torch

__all__ = ["LRFinderResult", "find_lr"]

MODES = {"exp": "exponential", "exponential": "exponential", "linear": "linear"}


def find_lr(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    criterion: Callable[[Any, Any], Any] | None,
    data: Iterable[Any],
    *,
    client: Client | None = None,
    start_lr: float | list[float] = 1e-7,
    end_lr: float | list[float] = 10.0,
    num_steps: int = 100,
    mode: str = "exp",
    smoothing: float = 0.98,
    diverge_factor: float = 4.0,
    name: str | None = None,
    progress: bool = True,
    device: Any = None,
    loss_fn: LossFn | None = None,
) -> LRFinderResult:
    """Run an LR range test on ``model`` and return the curve and suggested LRs.

    Each step trains on one batch of ``data`` (an iterable of ``(inputs, targets)``,
    restarted when it runs out) with the learning rate the server hands out, from
    ``start_lr`` to ``end_lr`` over ``num_steps`` (``mode`` "exp" or "linear"), and
    reports the loss. The server smooths the losses (debiased EMA with ``smoothing``)
    and stops the test once the smoothed loss exceeds ``diverge_factor`` times the best.
    Model, optimizer, gradients, train/eval modes and torch's RNG are restored exactly
    afterwards, even on error. ``loss_fn(model, batch) -> loss`` replaces
    ``criterion(model(inputs), targets)`` for other batch shapes; ``device`` moves
    batches first. ``name`` reuses (and restarts) a named test run; ``client``
    defaults to ``lrhub.Client()``. The found LR is a ceiling, not a setting: see
    ``LRFinderResult.create_run``.
    """
    if mode not in MODES:
        raise ValueError(f'mode must be "exp" or "linear", got {mode!r}')
    if criterion is None and loss_fn is None:
        raise ValueError("criterion is required unless loss_fn is given")
    if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 2:
        raise ValueError(f"num_steps must be an integer >= 2, got {num_steps!r}")
    client = client or Client()
    spec = {
        "type": "LRRangeTest",
        "start_lr": start_lr,
        "end_lr": end_lr,
        "num_steps": num_steps,
        "mode": MODES[mode],
        "smoothing": smoothing,
        "diverge_factor": diverge_factor,
    }
    run_name = name or f"lr-finder-{uuid.uuid4().hex[:12]}"
    run = client.create_run(run_name, schedule=spec, restart=True)
    compute = loss_fn or criterion_loss(criterion, device)
    snapshot = TrainingSnapshot(model, optimizer)
    try:
        model.train()
        _ramp(run, model, optimizer, compute, data, num_steps, progress)
    finally:
        snapshot.restore()
    return LRFinderResult.fetch(client, run.id)


def _ramp(
    run: Any,
    model: Any,
    optimizer: Any,
    compute: LossFn,
    data: Iterable[Any],
    num_steps: int,
    progress: bool,
) -> None:
    """Train one batch per server step until the server says stop."""
    base_lrs = [float(group["lr"]) for group in optimizer.param_groups]
    worker = detect_identity()
    start, value, _ = run.register_worker(base_lrs, None, worker)
    if start != 0 or len(value.lrs) != len(base_lrs):
        raise LrhubError(
            f"range test run {run.name!r} did not start at step 0 with {len(base_lrs)} groups"
        )
    bar = progress_bar(num_steps, progress)
    lrs, batches = value.lrs, cycle(data)
    try:
        for step in range(1, num_steps + 1):
            batch = next(batches, None)
            if batch is None and step == 1:
                raise ValueError("data yielded no batches")
            if batch is None:
                warnings.warn(
                    f"lrhub: data ran out after {step - 1} batches; the range test "
                    "ends early (pass a re-iterable such as a DataLoader or list)",
                    stacklevel=3,
                )
                return
            for group, lr in zip(optimizer.param_groups, lrs, strict=True):
                group["lr"] = lr
            loss = train_step(model, optimizer, compute, batch)
            answer = _report(run, step, loss, worker.to_json())
            if bar is not None:
                bar.set_postfix(lr=f"{lrs[0]:.2e}", loss=f"{loss:.4g}", refresh=False)
                bar.update(1)
            if answer.stop:
                return
            if answer.effective_step != step or answer.values is None:
                raise LrhubError(
                    f"range test run {run.name!r} is being driven by someone else "
                    f"(report {step} took effect at {answer.effective_step})"
                )
            lrs = answer.values.lrs
    finally:
        if bar is not None:
            bar.close()


def _report(run: Any, step: int, loss: float, worker: dict[str, Any]) -> ReportResult:
    """Report one loss; NaN/inf go as JSON strings (JSON has no NaN)."""
    metric: float | str = loss
    if math.isnan(loss):
        metric = "NaN"
    elif math.isinf(loss):
        metric = "Infinity" if loss > 0 else "-Infinity"
    body = {"step": step, "metrics": {"loss": metric}, "worker": worker}
    data = run.client.request("POST", f"/v1/runs/{run.id}/reports", json=body)
    return ReportResult.from_json(data)


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
        import copy

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
        from lrhub._plot import plot_range_test

        return plot_range_test(self, Path(path), title=title)

    def summary(self, width: int = 60) -> str:
        """The suggestions and a one-line sparkline of the smoothed curve, as text."""
        from lrhub._plot import summarize_range_test

        return summarize_range_test(self, width)
