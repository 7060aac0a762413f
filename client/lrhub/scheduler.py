"""`LrhubScheduler`: a torch ``LRScheduler`` whose values come from an lrhub run.

A thin adapter: the values and the position live in a `WindowCursor` (pure), the network
in a `Prefetcher` (a thread that holds no reference to the scheduler). Every step that is
not a plain lookup goes through torch's own ``LRScheduler.step`` (its step-order warning
included), with `get_lr` answering from the cursor.
"""

from __future__ import annotations

import threading
import warnings
import weakref
from collections.abc import Mapping
from typing import Any

import torch
from torch.optim.lr_scheduler import LRScheduler

from lrhub.checkpoint import checkpoint_position, checkpoint_state, resume_notice
from lrhub.cursor import PrefetchBound, WindowCursor
from lrhub.driver import RunDriver
from lrhub.errors import ConflictError, ResumeWarning
from lrhub.identity import detect_identity
from lrhub.metrics import metrics_dict
from lrhub.optim import bind_optimizer, current_lrs, is_tensor
from lrhub.run_calls import RunCalls
from lrhub.usage import check_step, claim_optimizer, register_driver

HELD_VALUES_MAX = 1 << 20  # lr and momentum values held per scheduler by default (~32 MB)


def default_ahead(window_size: int, optimizer: torch.optim.Optimizer) -> int:
    """Two windows, but no more than `HELD_VALUES_MAX` values over every group (yet at
    least 1024 steps): a model with hundreds of groups does not hold gigabytes."""
    per_step = 2 * max(1, len(optimizer.param_groups))
    return min(2 * window_size, max(1024, HELD_VALUES_MAX // per_step))


class LrhubScheduler(LRScheduler):
    """A torch LR scheduler whose values come from an lrhub run.

    Options: ``window_size`` (most steps fetched per request, default 32768; the server
    may answer fewer),
    ``max_ahead_steps`` (never hold or promise more steps than this past the current one,
    default ``2 * window_size``, fewer with many groups: see `default_ahead`), ``ahead_s``
    (nor more than this many seconds of training at the observed rate, default 10 s),
    ``progress_every_s`` (how often progress is recorded, default 5 s), ``on_outage``
    ("hold", the default, or "raise"),
    ``metric_name`` (the name of a bare number passed to ``step(metric)``, default "loss"),
    ``flush_timeout_s`` (the deadline of the final progress report at exit, default 2 s),
    ``fetch_wait_s`` (how long a step waits for a window in flight, default 2 s) and
    ``launch_id`` (names the launch this worker's ranks share; default: from torchrun's
    environment when the world size is above 1).
    """

    def __init__(
        self,
        run: RunCalls,
        optimizer: torch.optim.Optimizer,
        *,
        window_size: int = 32_768,
        max_ahead_steps: int | None = None,
        ahead_s: float = 10.0,
        progress_every_s: float = 5.0,
        on_outage: str = "hold",
        metric_name: str = "loss",
        flush_timeout_s: float = 2.0,
        fetch_wait_s: float = 2.0,
        launch_id: str | None = None,
    ) -> None:
        if on_outage not in ("hold", "raise"):
            raise ValueError(f'on_outage must be "hold" or "raise", got {on_outage!r}')
        if not 1 <= window_size <= 1_000_000:
            raise ValueError(f"window_size must be between 1 and 1000000, got {window_size!r}")
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        claim_optimizer(optimizer)
        bound = PrefetchBound(
            window_size=window_size,
            max_ahead_steps=max_ahead_steps or default_ahead(window_size, optimizer),
            ahead_s=ahead_s,
        )
        self.run = run
        self.on_outage = on_outage
        self.metric_name = metric_name
        self.flush_timeout_s = flush_timeout_s
        self.fetch_wait_s = fetch_wait_s
        self.closed = False
        self.identity = detect_identity(launch_id)
        self._binding = bind_optimizer(optimizer, run)
        self._lock = threading.RLock()
        self._pending_lrs: list[float] | None = None
        self._held_step: int | None = None  # a step that held the last values (no value)
        self._num_groups = len(optimizer.param_groups)
        self._beta2s = self._binding.beta2s if self._binding.momentum_key == "betas" else None
        self._tensor_lrs = any(is_tensor(g["lr"]) for g in optimizer.param_groups)

        start, value, clean_exit = run.register_worker(
            self._binding.base_lrs, self._binding.base_momentums, self.identity
        )
        if len(value.lrs) != self._num_groups:
            raise ConflictError(
                f"run {run.name!r} has {len(value.lrs)} parameter groups but the optimizer "
                f"has {self._num_groups}; attach an optimizer with the run's groups.",
                status_code=409,
            )
        self._cursor = cursor = WindowCursor(start - 1, bound)
        self._take_fast = cursor.take_fast
        self._driver = driver = RunDriver(
            run,
            self._binding,
            self.identity,
            cursor,
            on_outage=on_outage,
            fetch_wait_s=fetch_wait_s,
            progress_every_s=progress_every_s,
            flush_timeout_s=flush_timeout_s,
        )
        try:
            driver.start(value)
        except BaseException:
            driver.prefetcher.stop()  # attach failed: no thread, no final progress
            raise
        weakref.finalize(self, driver.prefetcher.finish)  # a dropped scheduler ends its thread
        self._resume_notice = resume_notice(run.name, start, clean_exit)
        super().__init__(optimizer, start - 1)  # torch's initial step sets value[start]
        self.base_lrs = list(self._binding.base_lrs)
        cursor.pause_fast()  # the first step runs torch's step-order check
        register_driver(optimizer, self)

    # ---- the hot path ------------------------------------------------------------------
    def step(self, metrics: Any = None, epoch: int | None = None) -> None:  # type: ignore[override]
        """Move to the next step and set its values. ``step(metric)`` reports a metric at
        the step it moves to; only for metric-driven runs (e.g. ReduceLROnPlateau)."""
        groups = self.optimizer.param_groups
        if metrics is None and epoch is None and len(groups) == self._num_groups:
            i = self._take_fast()
            if i >= 0:
                cursor = self._cursor
                self.last_epoch += 1
                self._step_count += 1
                if self._tensor_lrs:  # fill tensors in place (a loaded state may hold floats)
                    for group, col in zip(groups, cursor.lrs):  # noqa: B905 (hot path)
                        lr = group["lr"]
                        if lr.__class__ is float:
                            group["lr"] = col[i]
                        else:
                            lr.fill_(col[i])
                else:
                    for group, col in zip(groups, cursor.lrs):  # noqa: B905 (hot path)
                        group["lr"] = col[i]
                moms = cursor.momentums
                if moms is not None:
                    if self._beta2s is None:
                        for group, col in zip(groups, moms):  # noqa: B905 (hot path)
                            group["momentum"] = col[i]
                    else:
                        for group, col, b2 in zip(groups, moms, self._beta2s):  # noqa: B905
                            group["betas"] = (col[i], b2)
                return
        self._slow_step(metrics, epoch)

    # ---- torch API ---------------------------------------------------------------------
    def get_lr(self) -> list[float]:
        """The LRs of the step being taken (inside ``step``), else of the current step."""
        if self._pending_lrs is not None:
            return list(self._pending_lrs)
        return list(self._last_lr)

    def get_last_lr(self) -> list[float]:
        """The LRs set by the last step, one per group (a copy, as in torch)."""
        values = (
            None if self._held_step == self.last_epoch else self._cursor.values_at(self.last_epoch)
        )
        return list(values[0]) if values is not None else [float(v) for v in self._last_lr]

    def state_dict(self) -> dict[str, Any]:
        """Plain values only: loads with ``torch.load(weights_only=True)``."""
        return checkpoint_state(
            self.run, self.last_epoch, self._step_count, self.base_lrs, self.get_last_lr()
        )

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Continue at the checkpoint's step: the server is told (``run.resume``)."""
        step, step_count = checkpoint_position(state_dict, self.run.name)
        with self._lock:
            self._driver.resume(step)
            self._resume_notice = None  # a checkpoint says where we are: nothing to warn
            self.last_epoch = step
            self._step_count = step_count
            self._apply(step)

    def report(self, metrics: float | Mapping[str, float], step: int | None = None) -> None:
        """Report metrics at the current step (e.g. from an evaluation callback); when the
        run's decision gives the current step a value, it is applied at once."""
        with self._lock:
            k = self.last_epoch if step is None else int(step)
            self._driver.report(k, metrics_dict(metrics, self.metric_name))
            if k == self.last_epoch:
                self._apply(k)

    @property
    def should_stop(self) -> bool:
        """Whether the run asks the job to stop (range test finished, divergence)."""
        return self._driver.should_stop

    def close(self, flush_timeout_s: float | None = None) -> None:
        """Stop the background thread and record the final progress (bounded wait)."""
        self.closed = True
        timeout = self.flush_timeout_s if flush_timeout_s is None else flush_timeout_s
        self._driver.prefetcher.close(timeout)

    # ---- everything but a plain lookup -------------------------------------------------
    def _slow_step(self, metrics: Any, epoch: int | None) -> None:
        check_step(self, metrics, epoch, self._num_groups, self._driver.metric_driven)
        if epoch is not None:
            warnings.warn(
                "step(epoch) is deprecated in torch; call step() instead", UserWarning, stacklevel=3
            )
        with self._lock:
            report = None if metrics is None else metrics_dict(metrics, self.metric_name)
            self._tensor_lrs = any(is_tensor(g["lr"]) for g in self.optimizer.param_groups)
            try:
                self._driver.next_index(report)
            except BaseException:
                self.last_epoch = self._cursor.step  # moved without a value (on_outage="raise")
                raise
            if self._resume_notice is not None and self._step_count >= 1:
                warnings.warn(ResumeWarning(self._resume_notice), stacklevel=3)
                self._resume_notice = None
            values = self._cursor.values_at(self._cursor.step)
            self._held_step = None if values is not None else self._cursor.step
            self._pending_lrs = values[0] if values else current_lrs(self.optimizer.param_groups)
            try:
                super().step()  # torch's checks and counters; get_lr() answers _pending_lrs
            finally:
                self._last_lr = list(self._pending_lrs)
                self._pending_lrs = None
            if values is not None and values[1] is not None:
                self._binding.set_momentums(self.optimizer.param_groups, values[1])

    def _apply(self, step: int) -> None:
        """Set the values held for ``step`` on the optimizer's groups (outside ``step()``)."""
        values = self._cursor.values_at(step)
        if values is None:
            return
        lrs, moms = values
        self._held_step = None
        self._binding.set_lrs(self.optimizer.param_groups, lrs)
        self._last_lr = list(lrs)
        if moms is not None:
            self._binding.set_momentums(self.optimizer.param_groups, moms)
