"""`LrhubScheduler`: a torch ``LRScheduler`` driven by an lrhub run (imports torch)."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Mapping
from typing import Any

import torch
from torch.optim.lr_scheduler import LRScheduler

from lrhub._scheduler_slow_path import SchedulerSlowPath
from lrhub.errors import ConflictError, ResumeWarning
from lrhub.exit_flush import register_exit_flush
from lrhub.feed import WindowFeed
from lrhub.identity import detect_identity
from lrhub.optim import OptimizerBinding, bind_optimizer
from lrhub.run import Run
from lrhub.types import Value


class LrhubScheduler(SchedulerSlowPath, LRScheduler):
    """A torch LR scheduler whose values come from an lrhub run.

    ``step()`` is the hot path (here); window boundaries, reports and outages are the
    slow path, in `lrhub._scheduler_slow_path.SchedulerSlowPath`.

    Options: ``window_size`` (steps per prefetched window, default 1024),
    ``progress_every_s`` (how often progress is recorded, default 5 s),
    ``on_outage`` ("hold", the default, or "raise"), ``metric_name`` (the name of a bare
    number passed to ``step(metric)``, default "loss") and ``flush_timeout_s`` (the
    deadline for the final progress report at exit, default 2 s).
    """

    def __init__(
        self,
        run: Run,
        optimizer: torch.optim.Optimizer,
        *,
        window_size: int = 1024,
        progress_every_s: float = 5.0,
        on_outage: str = "hold",
        metric_name: str = "loss",
        flush_timeout_s: float = 2.0,
    ) -> None:
        if on_outage not in ("hold", "raise"):
            raise ValueError(f'on_outage must be "hold" or "raise", got {on_outage!r}')
        if not 1 <= window_size <= 4096:
            raise ValueError(f"window_size must be between 1 and 4096, got {window_size!r}")
        self.run = run
        self.optimizer = optimizer
        self.on_outage = on_outage
        self.metric_name = metric_name
        self.flush_timeout_s = flush_timeout_s
        self._binding: OptimizerBinding = bind_optimizer(optimizer, run)
        self.base_lrs = list(self._binding.base_lrs)
        self.identity = detect_identity()
        self._slow_lock = threading.RLock()
        self._warned_hold = False
        self._pending_report: int | None = None
        self.should_stop = False

        start, value, clean_exit = run.register_worker(
            self.base_lrs, self._binding.base_momentums, self.identity
        )
        if len(value.lrs) != len(optimizer.param_groups):
            raise ConflictError(
                f"run {run.name!r} has {len(value.lrs)} parameter groups but the optimizer "
                f"has {len(optimizer.param_groups)}; attach an optimizer with the run's groups.",
                status_code=409,
            )
        self.last_epoch = start
        self._step_count = 1
        self._apply(self._binding.entry(value))
        self._feed = WindowFeed(
            run,
            self._binding.chunk,
            lambda: self.last_epoch,  # keeps the scheduler alive until close()/exit
            self.identity,
            window_size=window_size,
            progress_every_s=progress_every_s,
        )
        self._install(self._feed.fetch_now(start))
        if start > 0 and clean_exit is False:
            warnings.warn(
                ResumeWarning(
                    f"lrhub: run {run.name!r} stopped without a clean exit; continuing at "
                    f"step {start}, its last periodic progress report, so a few steps may "
                    "repeat. Load a checkpoint with scheduler.load_state_dict() to resume at "
                    "its exact step, or create_run(..., restart=True) to start over."
                ),
                stacklevel=3,
            )
        register_exit_flush(self)

    # ---- the hot path ---------------------------------------------------------------
    def step(self, metrics: Any = None, epoch: int | None = None) -> None:  # type: ignore[override]
        """Move to the next step and set its values; ``step(metric)`` reports a metric at
        the step it moves to (for metric-driven runs such as ReduceLROnPlateau)."""
        k = self.last_epoch + 1
        if k >= self._fast_until or metrics is not None or epoch is not None:
            self._slow_step(k, metrics, epoch)
            return
        lrs, moms = self._entries[k - self._chunk_start]
        self.last_epoch = k
        self._step_count += 1
        self._last_lr = lrs
        # optimizer.load_state_dict() replaces the group dicts: never cache them
        groups = self.optimizer.param_groups
        for group, lr in zip(groups, lrs):  # noqa: B905 (hot path)
            group["lr"] = lr
        if moms is not None:
            key = self._binding.momentum_key
            for group, m in zip(groups, moms):  # noqa: B905 (hot path)
                group[key] = m

    # ---- torch API ------------------------------------------------------------------
    def get_last_lr(self) -> list[float]:
        """The LRs set by the last step, one per group (a copy, as in torch)."""
        return list(self._last_lr)

    def get_lr(self) -> list[float]:
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Plain values only: loads with ``torch.load(weights_only=True)``."""
        return {
            "lrhub_run_id": self.run.id,
            "lrhub_run_name": self.run.name,
            "last_epoch": int(self.last_epoch),
            "_step_count": int(self._step_count),
            "base_lrs": [float(v) for v in self.base_lrs],
            "_last_lr": [float(v) for v in self._last_lr],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Continue at the checkpoint's step: the server is told (``run.resume``)."""
        if not isinstance(state_dict, Mapping) or "last_epoch" not in state_dict:
            raise ValueError("state_dict must be a scheduler state with a 'last_epoch' entry")
        step = int(state_dict["last_epoch"])
        name = state_dict.get("lrhub_run_name")
        if name is not None and name != self.run.name:
            warnings.warn(
                f"lrhub: checkpoint was written for run {name!r}; resuming run "
                f"{self.run.name!r} at its step {step}",
                UserWarning,
                stacklevel=2,
            )
        with self._slow_lock:
            self.run.resume(step, worker=self.identity)
            self._feed.reset()
            self._install(self._feed.fetch_now(step))
            self.last_epoch = step
            self._step_count = int(state_dict.get("_step_count", step + 1))
            self._pending_report = None
            entry = self._entry_at(step)
            if entry is None:  # a metric-driven run waiting for the report at this step
                self._fast_until = step + 1
            else:
                self._apply(entry)

    def value_at_current_step(self) -> Value:
        """The values in force now, as a ``lrhub.Value``."""
        moms = None
        if self._binding.momentum_key:
            moms = [self._binding.read_momentum(g) for g in self.optimizer.param_groups]
        return Value(self.last_epoch, list(self._last_lr), moms, self._chunk.revision)

    def close(self, flush_timeout_s: float | None = None) -> None:
        """Stop the background thread and record the final progress (bounded wait)."""
        timeout = self.flush_timeout_s if flush_timeout_s is None else flush_timeout_s
        self._feed.close(timeout)
