"""`Prefetcher`: the scheduler's background thread. Fetches windows, resends metric
reports that failed during an outage, and records progress periodically.

It talks to the training thread only through two queues (commands in, results out) and
holds no reference to the scheduler, so a dropped scheduler is collected; its finalizer
asks the thread to record the final progress and end (``close()`` does it at once).
While the server is unreachable (``outage``), pending work is retried every
``probe_every_s``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from lrhub.cursor import Block
from lrhub.errors import LrhubError
from lrhub.exit_flush import register_exit_flush
from lrhub.identity import WorkerIdentity
from lrhub.outage import Outage, is_outage
from lrhub.run_calls import RunCalls
from lrhub.thread_messages import STOP, Fetched, Reported
from lrhub.types import ReportResult, Window

log = logging.getLogger("lrhub")


class Prefetcher:
    """One daemon thread per scheduler; see the module docstring."""

    def __init__(
        self,
        run: RunCalls,
        convert: Callable[[Window, int], Block],
        current_step: Callable[[], int],
        identity: WorkerIdentity,
        *,
        progress_every_s: float,
        flush_timeout_s: float = 2.0,
        probe_every_s: float = 0.5,
        probe_timeout_s: float = 2.0,
    ) -> None:
        self.run = run
        self.progress_every_s = progress_every_s
        self.flush_timeout_s = flush_timeout_s
        self._final_claimed = False  # someone sends the final progress, or nobody must
        self._final_lock = threading.Lock()
        self.outage = Outage(probe_every_s, probe_timeout_s)
        self.results: queue.SimpleQueue[Fetched | Reported] = queue.SimpleQueue()
        self._convert = convert
        self._current_step = current_step
        self._identity = identity
        self._commands: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._fetch: tuple[int, int, int] | None = None  # (start, count, generation)
        self._reports: list[tuple[int, dict[str, float], int, int]] = []
        self._reports_lock = threading.Lock()
        self._stopped = threading.Event()
        self._progress_sent = -1
        self._progress_sent_at = time.monotonic()  # attach recorded the start
        self._thread = threading.Thread(target=self._loop, name="lrhub-prefetch", daemon=True)
        self._thread.start()
        register_exit_flush(self)

    # ---- called from the training thread -----------------------------------------------
    def fetch(self, start: int, count: int, generation: int) -> None:
        """Fetch ``count`` steps from ``start`` in the background (answered in results)."""
        self._commands.put(("fetch", start, count, generation))

    def forget_fetch(self) -> None:
        """Drop a fetch not yet sent (after a resume it would fetch stale steps)."""
        self._commands.put(("forget",))

    def queue_report(
        self, step: int, metrics: dict[str, float], generation: int, window: int
    ) -> None:
        """Deliver a report in the background, after those queued before it (``window``:
        the most steps its answer's window may hold)."""
        with self._reports_lock:
            self._reports.append((step, metrics, generation, window))
        self._commands.put(("wake",))

    @property
    def reports_pending(self) -> bool:
        return bool(self._reports)

    def stop(self) -> None:
        """End the thread without recording a final progress (as if the process died)."""
        self._claim_final()
        self._stopped.set()
        self._commands.put(STOP)

    def finish(self) -> None:
        """End the thread after it records the final progress (returns at once: safe from
        a finalizer; the exit hook waits for it)."""
        self._stopped.set()
        self._commands.put(STOP)

    def close(self, flush_timeout_s: float | None = None) -> None:
        """Stop the thread, then record the final progress, giving up after the deadline.
        After `stop`, or a first close, nothing is sent; after `finish`, it waits for the
        thread's own final report, within the deadline."""
        timeout = self.flush_timeout_s if flush_timeout_s is None else flush_timeout_s
        self._stopped.set()
        self._commands.put(STOP)
        if not self._claim_final():  # the thread sends it (after finish), or nobody does
            self._thread.join(timeout=max(0.0, timeout))
            return
        self._thread.join(timeout=min(0.5, timeout))
        if timeout > 0:
            self._send_final(timeout)

    def _claim_final(self) -> bool:
        """True once: the caller that gets it sends the final progress (or decides none)."""
        with self._final_lock:
            claimed, self._final_claimed = self._final_claimed, True
        return not claimed

    def _send_final(self, timeout: float) -> None:
        step = self._current_step()
        try:
            self.run.report_progress(
                step, worker=self._identity, final=True, max_retries=0, timeout=timeout
            )
        except LrhubError as exc:
            log.warning("lrhub: could not record final progress %d: %s", step, exc)

    # ---- the thread ----------------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stopped.is_set():
            busy = self._fetch is not None or bool(self._reports)
            outage = self.outage
            wait = outage.probe_every_s if busy and outage.since else self.progress_every_s
            try:
                command = self._commands.get(timeout=wait)
            except queue.Empty:
                command = None
            while command is not None:
                if command is STOP:
                    if self._claim_final() and self.flush_timeout_s > 0:  # after finish()
                        self._send_final(self.flush_timeout_s)
                    return
                if command[0] == "fetch":
                    self._fetch = command[1:]
                elif command[0] == "forget":
                    self._fetch = None
                try:
                    command = self._commands.get_nowait()
                except queue.Empty:
                    command = None
            try:
                self._deliver_reports()
                self._fetch_wanted()
                self._send_progress()
            except Exception as exc:  # never let the thread die
                log.exception("lrhub: unexpected error in the background thread: %s", exc)

    def _deliver_reports(self) -> None:
        while self._reports and not self._stopped.is_set():
            step, metrics, generation, window_count = self._reports[0]
            try:
                result: ReportResult | None = self.run.report(
                    step,
                    metrics,
                    worker=self._identity,
                    window=window_count,
                    **self.outage.request_kwargs(),
                )
            except LrhubError as exc:
                if is_outage(exc):
                    self.outage.failure(exc)
                    return
                log.warning("lrhub: report at step %d rejected: %s", step, exc)
                result = None
            self.outage.success()
            window = result.window if result is not None else None
            block = self._convert(window, generation) if window is not None else None
            with self._reports_lock:
                self._reports.pop(0)
            self.results.put(Reported(generation, step, result, block))

    def _fetch_wanted(self) -> None:
        if self._fetch is None or self._reports:
            return
        start, count, generation = self._fetch
        start = max(start, self._current_step() + 1)  # the worker moved on (an outage)
        try:
            window = self.run.window(start, count, **self.outage.request_kwargs())
        except LrhubError as exc:
            self.outage.failure(exc)
            if not is_outage(exc):  # a request error: say so, do not retry it
                self._fetch = None
                self.results.put(Fetched(generation, start, None, exc))
            return
        if window.promised_end == window.start:
            window = self._resync(start, count, window)
        if window is None:
            return
        self._fetch = None
        if window.promised_end == window.start:
            exc = LrhubError(
                f"lrhub: the server promised none of steps {start}..{window.end - 1} of run "
                f"{self.run.name!r} (promised_through={window.promised_through}); training "
                "needs values promised to it: use a token with the write scope."
            )
            self.outage.last_error = exc
            self.results.put(Fetched(generation, start, None, exc))
            return
        self.outage.success()
        self.results.put(Fetched(generation, start, self._convert(window, generation)))

    def _resync(self, start: int, count: int, window: Window) -> Window | None:
        """A worker that went on (holding its value) through an outage is past the run's
        promised range: record its progress (a write, which extends the promise to its step)
        and fetch again. None when the server could not be reached."""
        try:
            self.run.report_progress(
                self._current_step(), worker=self._identity, **self.outage.request_kwargs()
            )
            return self.run.window(start, count, **self.outage.request_kwargs())
        except LrhubError as exc:
            self.outage.failure(exc)
            return None

    def _send_progress(self) -> None:
        now = time.monotonic()
        if self.outage.since is not None or now - self._progress_sent_at < self.progress_every_s:
            return
        step = self._current_step()
        if step == self._progress_sent:
            return
        try:
            self.run.report_progress(step, worker=self._identity, max_retries=0, timeout=5.0)
        except LrhubError as exc:
            self.outage.failure(exc)
            return
        self._progress_sent = step
        self._progress_sent_at = now
