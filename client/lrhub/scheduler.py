"""`LrhubScheduler`: a torch ``LRScheduler`` driven by an lrhub run (imports torch)."""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Mapping
from typing import Any

import torch
from torch.optim.lr_scheduler import LRScheduler

from lrhub.errors import ConflictError, LrhubError, OutageWarning, ResumeWarning
from lrhub.exit_flush import register_exit_flush
from lrhub.feed import Chunk, WindowFeed, is_outage
from lrhub.identity import detect_identity
from lrhub.optim import OptimizerBinding, bind_optimizer
from lrhub.run import Run, metrics_dict
from lrhub.types import Value, Window

log = logging.getLogger("lrhub")


class LrhubScheduler(LRScheduler):
    """A torch LR scheduler whose values come from an lrhub run.

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

    def _apply(self, entry: tuple[list[float], tuple[Any, ...] | None]) -> None:
        lrs, moms = entry
        self._last_lr = lrs
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=False):
            group["lr"] = lr
        if moms is not None:
            for group, m in zip(self.optimizer.param_groups, moms, strict=False):
                group[self._binding.momentum_key] = m

    def _install(self, chunk: Chunk) -> None:
        """Make ``chunk`` current and decide when the next slow step happens."""
        self._chunk = chunk
        self._entries = chunk.entries
        self._chunk_start = chunk.start
        self.should_stop = self.should_stop or chunk.stop
        self._prefetch_at = chunk.start + max(1, len(chunk.entries) // 2)
        self._fast_until = min(self._prefetch_at, chunk.end)
        self._prefetched = False
        self._waited = False

    # ---- the slow path: window boundaries, reports, outages --------------------------
    def _slow_step(self, k: int, metrics: Any, epoch: int | None) -> None:
        with self._slow_lock:
            self._step_count += 1
            if epoch is not None:
                warnings.warn(
                    "step(epoch) is deprecated in torch; lrhub jumps to that step",
                    UserWarning,
                    stacklevel=3,
                )
                k = int(epoch)
            self._absorb_report_results()
            if metrics is not None:
                self._report(k, metrics_dict(metrics, self.metric_name))
            self.last_epoch = k
            entry = self._entry_at(k)
            if entry is None:
                self._hold(k)
                return
            self._apply(entry)
            if k >= self._prefetch_at and not self._prefetched:
                self._request_next()
            self._fast_until = self._prefetch_at if not self._prefetched else self._chunk.end

    def _entry_at(self, k: int) -> tuple[list[float], tuple[Any, ...] | None] | None:
        if self._chunk.start <= k < self._chunk.end:
            return self._entries[k - self._chunk_start]
        # wait for a fetch in flight once per window boundary, never once per step
        chunk = self._feed.take(wait_s=0.0 if self._waited else 1.0)
        self._waited = True
        if chunk is not None and chunk.start <= k < chunk.end:
            self._install(chunk)
            self._recovered(k)
            return self._entries[k - self._chunk_start]
        if self._chunk.next_report is not None and k >= self._chunk.next_report:
            if self._pending_report != k:
                self._pending_report = k
            if not self._feed.reports_pending:
                return None  # waits for step(metric) or scheduler.report(...)
        self._request_next(k)
        return None

    def _request_next(self, start: int | None = None) -> None:
        chunk = self._chunk
        nxt = chunk.end if start is None else start
        if chunk.next_report is not None and nxt >= chunk.next_report and start is None:
            self._prefetched = True  # nothing to prefetch before the next report
            return
        self._feed.request(nxt)
        self._prefetched = True

    def _hold(self, k: int) -> None:
        """No value for step ``k``: keep the last one (or raise, with on_outage="raise")."""
        self._fast_until = k + 1  # stay on the slow path until values arrive
        error = self._feed.last_error
        if self._pending_report is not None and self._pending_report <= k and error is None:
            # At the report step itself an evaluation callback is about to report: wait
            # quietly. Stepping past it without a report is a mistake worth a warning.
            if k > self._pending_report and not self._warned_hold:
                self._warned_hold = True
                warnings.warn(
                    OutageWarning(
                        f"lrhub: run {self.run.name!r} is metric-driven and needs a report "
                        f"at step {self._pending_report}: call scheduler.step(metric) or "
                        "scheduler.report(metrics). Holding the last value until then."
                    ),
                    stacklevel=4,
                )
            return
        if self.on_outage == "raise":
            raise LrhubError(
                f"lrhub: no value for step {k} of run {self.run.name!r}: "
                f"{error or 'the next window did not arrive in time'}. "
                'Use on_outage="hold" to keep training on the last value through outages.'
            )
        if not self._warned_hold:
            self._warned_hold = True
            warnings.warn(
                OutageWarning(
                    f"lrhub: no value for step {k} of run {self.run.name!r} (server "
                    f"unreachable: {error or 'no answer in time'}); holding the last "
                    f"value {self._last_lr} and probing the server every 0.5 s."
                ),
                stacklevel=4,
            )

    def _recovered(self, k: int) -> None:
        if self._warned_hold:
            log.warning("lrhub: back on the run's values at step %d", k)
        self._warned_hold = False
        self._pending_report = None

    # ---- metric reports -------------------------------------------------------------
    def report(self, metrics: float | Mapping[str, float], step: int | None = None) -> None:
        """Report metrics at the current step (e.g. from an evaluation callback)."""
        with self._slow_lock:
            k = self.last_epoch if step is None else step
            self._report(k, metrics_dict(metrics, self.metric_name))
            if k == self.last_epoch:
                entry = self._entry_at(k)
                if entry is not None:
                    self._apply(entry)
                    self._fast_until = min(self._fast_until, k + 1)

    def _report(self, k: int, metrics: dict[str, float]) -> None:
        if self._feed.reports_pending:
            self._feed.queue_report(k, metrics)
            return
        try:
            result = self.run.report(k, metrics, worker=self.identity, max_retries=2)
        except ConflictError as exc:
            warnings.warn(f"lrhub: {exc} Using the decision already recorded.", stacklevel=4)
            self._adopt_window(k, None)
            return
        except LrhubError as exc:
            if not is_outage(exc) or self.on_outage == "raise":
                raise
            self._feed.note_failure(exc)
            self._feed.queue_report(k, metrics)
            return
        self._feed.note_success()
        self.should_stop = self.should_stop or result.stop
        self._adopt_window(k, result.window)

    def _adopt_window(self, k: int, window: Window | None) -> None:
        if window is not None and window.start <= k < window.end:
            self._install(self._binding.chunk(window))
        elif not self._chunk.start <= k < self._chunk.end:
            self._install(self._feed.fetch_now(k))
        self._pending_report = None

    def _absorb_report_results(self) -> None:
        for result, chunk in self._feed.take_report_results():
            if result is not None:
                self.should_stop = self.should_stop or result.stop
            if chunk is not None and chunk.start <= self.last_epoch + 1 < chunk.end:
                self._install(chunk)

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
