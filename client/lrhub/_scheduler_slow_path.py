"""The slow path of `LrhubScheduler`: window boundaries, metric reports and outages.

`LrhubScheduler.step()` stays on a few list lookups until ``_fast_until``; every other
step, and every report, comes here (under ``_slow_lock``, since the feed thread and an
evaluation callback may be involved).
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lrhub.errors import ConflictError, LrhubError, OutageWarning
from lrhub.feed import Chunk, Entry, WindowFeed, is_outage
from lrhub.run import Run, metrics_dict
from lrhub.types import Window

if TYPE_CHECKING:
    import torch

    from lrhub.identity import WorkerIdentity
    from lrhub.optim import OptimizerBinding

log = logging.getLogger("lrhub")


class SchedulerSlowPath:
    """Mixin for `LrhubScheduler`: installs windows, holds through outages, reports.

    The attributes below are set by `LrhubScheduler.__init__` (annotations only: no class
    attributes, so the hot path's instance lookups are unchanged).
    """

    run: Run
    optimizer: torch.optim.Optimizer
    on_outage: str
    metric_name: str
    identity: WorkerIdentity
    should_stop: bool
    last_epoch: int
    _step_count: int
    _binding: OptimizerBinding
    _feed: WindowFeed
    _slow_lock: threading.RLock
    _warned_hold: bool
    _pending_report: int | None
    _last_lr: list[float]
    _chunk: Chunk
    _entries: list[Entry]
    _chunk_start: int
    _prefetch_at: int
    _fast_until: int
    _prefetched: bool
    _waited: bool

    def _apply(self, entry: Entry) -> None:
        """Set one step's values (lrs, momentums or None) on the optimizer's groups."""
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

    # ---- window boundaries and outages ----------------------------------------------
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

    def _entry_at(self, k: int) -> Entry | None:
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
            self._pending_report = self._chunk.next_report  # the step that needs a report
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
            stepped_past = k > self._pending_report and not self._feed.reports_pending
            if stepped_past and not self._warned_hold:
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
            self._report(k, metrics_dict(metrics, self.metric_name), stacklevel=3)
            if k == self.last_epoch:
                entry = self._entry_at(k)
                if entry is not None:
                    self._apply(entry)
                    self._fast_until = min(self._fast_until, k + 1)

    def _report(self, k: int, metrics: dict[str, float], stacklevel: int = 4) -> None:
        """Send (or, during an outage, queue) a report; ``stacklevel`` reaches user code."""
        if self._feed.reports_pending:
            self._feed.queue_report(k, metrics)
            return
        try:
            result = self.run.report(k, metrics, worker=self.identity, max_retries=2)
        except ConflictError as exc:
            warnings.warn(
                f"lrhub: {exc} Using the decision already recorded.", stacklevel=stacklevel
            )
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
