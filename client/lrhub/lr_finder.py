"""`lrhub.find_lr`: the LR range test, driven by the server, run on your model.

The server holds the ramp (an ``LRRangeTest`` run), stores every loss, smooths it and
decides when to stop; this module trains on your batches with the server's learning
rates, then puts the model and the optimizer back exactly as they were. Needs torch.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from lrhub._finder_result import DEFAULT_MARGIN as DEFAULT_MARGIN  # re-exported
from lrhub._finder_result import PEAK_FIELDS as PEAK_FIELDS  # re-exported
from lrhub._finder_result import LRFinderResult
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
            answer = run.report(step, loss, worker=worker)
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
