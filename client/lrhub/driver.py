"""`RunDriver`: supplies a scheduler's values step by step (no torch).

It joins the pure `WindowCursor` and the `Prefetcher` thread: it moves the cursor, feeds it
the blocks that arrive, asks for the next fetch, sends metric reports, waits briefly for a
window in flight, and holds the last value (with one warning) when none is there. It
holds no reference to the scheduler.
"""

from __future__ import annotations

import functools
import logging
import queue
import time
import warnings
from typing import Any

from lrhub.cursor import WindowCursor
from lrhub.errors import ConflictError, LrhubError, OutageWarning
from lrhub.identity import WorkerIdentity
from lrhub.optim import OptimizerBinding
from lrhub.outage import is_outage
from lrhub.prefetch import Prefetcher
from lrhub.run_calls import RunCalls
from lrhub.thread_messages import Fetched
from lrhub.types import Value

log = logging.getLogger("lrhub")


class RunDriver:
    """The values of one scheduler: see the module docstring."""

    def __init__(
        self,
        run: RunCalls,
        binding: OptimizerBinding,
        identity: WorkerIdentity,
        cursor: WindowCursor,
        *,
        on_outage: str,
        fetch_wait_s: float,
        progress_every_s: float,
        flush_timeout_s: float,
    ) -> None:
        self.run = run
        self.binding = binding
        self.identity = identity
        self.cursor = cursor
        self.on_outage = on_outage
        self.fetch_wait_s = fetch_wait_s
        self.should_stop = False
        self._warned_hold = False
        self._waited = False  # waited for a fetch since values last ran out
        self._retry_at = 0.0  # after a refused fetch, when to ask again
        self.prefetcher = Prefetcher(
            run,
            binding.block,
            functools.partial(getattr, cursor, "step"),
            identity,
            progress_every_s=progress_every_s,
            flush_timeout_s=flush_timeout_s,
        )

    @property
    def metric_driven(self) -> bool:
        return self.run.info.metric_driven or self.cursor.next_report is not None

    # ---- setting up and resuming ---------------------------------------------------------
    def start(self, value: Value) -> None:
        """Hold ``value`` (the attach answer) and fetch the first window from its step."""
        self.cursor.offer(self.binding.block_of_value(value, self.cursor.generation))
        self.fetch_now(value.step)

    def window_count(self) -> int:
        """Steps to ask for from the current step on, within the prefetch bound."""
        bound = self.cursor.bound
        return min(bound.window_size, bound.ahead(self.cursor.rate))

    def fetch_now(self, start: int) -> None:
        """Fetch a window synchronously (with the client's retries) and hold it."""
        window = self.run.window(start, self.window_count())
        self.prefetcher.outage.success()
        self.cursor.offer(self.binding.block(window, self.cursor.generation))
        self._absorb_stop()

    def resume(self, step: int) -> None:
        """Make ``step`` the run's progress and this worker's position."""
        self.run.resume(step, worker=self.identity)
        self.prefetcher.forget_fetch()
        self.cursor.reset(step)
        self.fetch_now(step)

    # ---- stepping ----------------------------------------------------------------------
    def next_index(self, metrics: dict[str, float] | None) -> int:
        """Move one step (reporting ``metrics`` there first); the column index of its
        values in the cursor, or -1 to hold the last ones."""
        cursor = self.cursor
        self.drain()
        k = cursor.step + 1
        if metrics is not None:
            self.report(k, metrics)
        self.request_more()
        if cursor.index_of(k) < 0 and cursor.fetching and not self._waited:
            self._wait_for_fetch(k)
        index = cursor.advance()
        if index < 0:
            self._hold(k)
        else:
            self._recovered(k)
        self.request_more()
        return index

    def request_more(self) -> None:
        """Ask the prefetcher for the next window when the cursor wants one."""
        now = time.monotonic()
        self.cursor.observe(now)
        if now < self._retry_at:
            return
        wanted = self.cursor.wanted()
        if wanted is not None:
            self.prefetcher.fetch(*wanted, self.cursor.generation)

    def drain(self) -> None:
        """Take every answer the prefetcher has delivered."""
        while True:
            try:
                message = self.prefetcher.results.get_nowait()
            except queue.Empty:
                return
            self._absorb(message)

    def _absorb(self, message: Any) -> None:
        if isinstance(message, Fetched):
            self.cursor.fetch_settled(message.generation)
            if message.block is not None:
                self.cursor.offer(message.block)
            else:  # a refused fetch: ask again only after a pause
                self._retry_at = time.monotonic() + self.prefetcher.outage.probe_every_s
        else:  # Reported
            if message.result is not None:
                self.should_stop = self.should_stop or message.result.stop
            if message.block is not None:
                self.cursor.offer(message.block)
        self._absorb_stop()

    def _absorb_stop(self) -> None:
        self.should_stop = self.should_stop or self.cursor.stop

    def _wait_for_fetch(self, k: int) -> None:
        """Wait (once per shortage, never during an outage) for the window in flight."""
        self._waited = True
        deadline = time.monotonic() + self.fetch_wait_s
        while self.cursor.fetching and self.prefetcher.outage.since is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                self._absorb(self.prefetcher.results.get(timeout=min(left, 0.1)))
            except queue.Empty:
                continue
            if self.cursor.index_of(k) >= 0:
                return

    def _hold(self, k: int) -> None:
        """No value for step ``k``: keep the last one (or raise, with on_outage="raise")."""
        prefetcher = self.prefetcher
        error = prefetcher.outage.last_error
        due = self.cursor.report_due()
        if due is not None and due <= k and error is None:
            # At the report step itself an evaluation callback is about to report: wait
            # quietly. Stepping past it without a report is a mistake worth a warning.
            if k > due and not prefetcher.reports_pending and not self._warned_hold:
                self._warned_hold = True
                warnings.warn(
                    OutageWarning(
                        f"lrhub: run {self.run.name!r} is metric-driven and needs a report at "
                        f"step {due}: call scheduler.step(metric) or scheduler.report(metrics)."
                        " Holding the last value until then."
                    ),
                    stacklevel=5,
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
                    f"lrhub: no value for step {k} of run {self.run.name!r} ("
                    f"{'server unreachable: ' if error is None or is_outage(error) else ''}"
                    f"{error or 'no answer in time'}); holding the last value and asking "
                    f"the server again every {prefetcher.outage.probe_every_s} s."
                ),
                stacklevel=5,
            )

    def _recovered(self, k: int) -> None:
        if self._warned_hold:
            log.warning("lrhub: back on the run's values at step %d", k)
        self._warned_hold = False
        self._waited = False

    # ---- metric reports ----------------------------------------------------------------
    def report(self, k: int, metrics: dict[str, float]) -> None:
        """Report at step ``k`` (queued in the background during an outage)."""
        generation = self.cursor.generation
        if self.prefetcher.reports_pending:
            self.prefetcher.queue_report(k, metrics, generation, self.window_count())
            return
        try:
            result = self.run.report(
                k, metrics, worker=self.identity, window=self.window_count(), max_retries=2
            )
        except ConflictError as exc:
            warnings.warn(f"lrhub: {exc} Using the decision already recorded.", stacklevel=5)
            if self.cursor.index_of(k) < 0:
                self.fetch_now(k)
            return
        except LrhubError as exc:
            if not is_outage(exc) or self.on_outage == "raise":
                raise
            self.prefetcher.outage.failure(exc)
            self.prefetcher.queue_report(k, metrics, generation, self.window_count())
            return
        self.prefetcher.outage.success()
        self.should_stop = self.should_stop or result.stop
        if result.window is not None:
            self.cursor.offer(self.binding.block(result.window, generation))
        self._absorb_stop()
