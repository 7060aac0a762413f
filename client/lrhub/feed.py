"""The background side of the scheduler: prefetches windows, resends metric reports that
failed during an outage, and reports progress periodically.

The training thread never waits on the network in the common case: it asks for the
next window (``request``) well before the current one runs out and later takes it
(``take``). While the server is unreachable the thread probes it at least once a second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lrhub.errors import APIConnectionError, APIStatusError, LrhubError
from lrhub.identity import WorkerIdentity
from lrhub.run import Run
from lrhub.types import ReportResult, Window

log = logging.getLogger("lrhub")

# One step's values, ready to assign: (lrs as a list, momentum values or None).
Entry = tuple[list[float], tuple[Any, ...] | None]


@dataclass
class Chunk:
    """Consecutive steps ``[start, start + len(entries))`` converted for assignment."""

    start: int
    entries: list[Entry]
    next_report: int | None
    stop: bool
    revision: int

    @property
    def end(self) -> int:
        return self.start + len(self.entries)


def is_outage(exc: BaseException) -> bool:
    """Whether a failure means "the server is not available" (vs. a request error)."""
    if isinstance(exc, APIConnectionError):
        return True
    return isinstance(exc, APIStatusError) and (exc.status_code >= 500 or exc.status_code == 429)


class WindowFeed:
    """Fetches windows, reports and progress for one scheduler on a daemon thread."""

    def __init__(
        self,
        run: Run,
        convert: Callable[[Window], Chunk],
        current_step: Callable[[], int | None],
        identity: WorkerIdentity,
        *,
        window_size: int,
        progress_every_s: float,
        probe_every_s: float = 0.5,
        probe_timeout_s: float = 2.0,
    ) -> None:
        self.run = run
        self.window_size = window_size
        self.progress_every_s = progress_every_s
        self.probe_every_s = probe_every_s
        self.probe_timeout_s = probe_timeout_s
        self._convert = convert
        self._current_step = current_step
        self._identity = identity
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._ready_event = threading.Event()
        self._want_start: int | None = None
        self._ready: Chunk | None = None
        self._pending_reports: list[tuple[int, dict[str, float]]] = []
        self._report_results: list[tuple[ReportResult | None, Chunk | None]] = []
        self._closed = False
        self.outage_since: float | None = None
        self.last_error: BaseException | None = None
        self._progress_sent = -1
        self._progress_sent_at = time.monotonic()  # attach recorded the start
        self._thread = threading.Thread(target=self._loop, name="lrhub-feed", daemon=True)
        self._thread.start()

    # ---- called from the training thread -------------------------------------------
    def fetch_now(self, start: int) -> Chunk:
        """Fetch a window synchronously (with the client's retries)."""
        chunk = self._convert(self.run.window(start, self.window_size))
        self._recovered()
        return chunk

    def request(self, start: int) -> None:
        """Ask the background thread for the window starting at ``start`` (a no-op when a
        fetch from an earlier step is pending: it starts at the current step anyway)."""
        with self._lock:
            if self._want_start is not None and self._want_start <= start:
                return
            self._want_start = start
            self._ready = None
            self._ready_event.clear()
        self._wake.set()

    def reset(self) -> None:
        """Forget pending and fetched windows (after a resume they may be stale)."""
        with self._lock:
            self._want_start = None
            self._ready = None
            self._ready_event.clear()

    def take(self, wait_s: float = 0.0) -> Chunk | None:
        """The fetched window, if any (waiting up to ``wait_s`` for one in flight)."""
        if wait_s > 0 and self._want_start is not None and self.outage_since is None:
            self._ready_event.wait(wait_s)
        with self._lock:
            chunk, self._ready = self._ready, None
            self._ready_event.clear()
            return chunk

    def queue_report(self, step: int, metrics: dict[str, float]) -> None:
        """Deliver a report in the background (used while the server is away)."""
        with self._lock:
            self._pending_reports.append((step, metrics))
            self._want_start = None
            self._ready = None
        self._wake.set()

    @property
    def reports_pending(self) -> bool:
        return bool(self._pending_reports)

    def take_report_results(self) -> list[tuple[ReportResult | None, Chunk | None]]:
        with self._lock:
            results, self._report_results = self._report_results, []
            return results

    def close(self, flush_timeout_s: float = 2.0) -> None:
        """Stop the thread and send the final progress, giving up after the deadline."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=min(0.5, flush_timeout_s))
        step = self._current_step()
        if step is not None and flush_timeout_s > 0:
            try:
                self.run.report_progress(
                    step,
                    worker=self._identity,
                    final=True,
                    max_retries=0,
                    timeout=flush_timeout_s,
                )
            except LrhubError as exc:
                log.warning("lrhub: could not record final progress %d: %s", step, exc)

    # ---- the background thread ------------------------------------------------------
    def _loop(self) -> None:
        while not self._closed:
            busy = self._want_start is not None or bool(self._pending_reports)
            failing = self.outage_since is not None
            self._wake.wait(self.probe_every_s if (busy and failing) else self.progress_every_s)
            self._wake.clear()
            if self._closed:
                return
            try:
                self._deliver_reports()
                self._fetch_wanted()
                self._send_progress()
            except Exception as exc:  # never let the thread die
                log.exception("lrhub: unexpected error in the background thread: %s", exc)

    def _request_kwargs(self) -> dict[str, Any]:
        if self.outage_since is not None:
            return {"max_retries": 0, "timeout": self.probe_timeout_s}
        return {"max_retries": 2}

    def note_failure(self, exc: BaseException) -> None:
        """A request of the training thread failed: the same outage bookkeeping."""
        self._failed(exc)

    def note_success(self) -> None:
        """A request of the training thread succeeded: the server is there."""
        self._recovered()

    def _failed(self, exc: BaseException) -> None:
        self.last_error = exc
        if is_outage(exc) and self.outage_since is None:
            self.outage_since = time.monotonic()
            log.warning(
                "lrhub: server unreachable, probing every %.1fs: %s", self.probe_every_s, exc
            )

    def _recovered(self) -> None:
        if self.outage_since is not None:
            log.warning(
                "lrhub: server back after %.1fs of outage", time.monotonic() - self.outage_since
            )
        self.outage_since = None
        self.last_error = None

    def _deliver_reports(self) -> None:
        while self._pending_reports and not self._closed:
            step, metrics = self._pending_reports[0]
            try:
                result = self.run.report(
                    step, metrics, worker=self._identity, **self._request_kwargs()
                )
            except APIStatusError as exc:
                if is_outage(exc):
                    self._failed(exc)
                    return
                log.warning("lrhub: report at step %d rejected: %s", step, exc)
                result = None
            except APIConnectionError as exc:
                self._failed(exc)
                return
            self._recovered()
            chunk = self._convert(result.window) if result and result.window else None
            with self._lock:
                self._pending_reports.pop(0)
                self._report_results.append((result, chunk))

    def _fetch_wanted(self) -> None:
        start = self._want_start
        if start is None or self._pending_reports:
            return
        start = max(start, self._current_step() or 0)
        try:
            window = self.run.window(start, self.window_size, **self._request_kwargs())
        except LrhubError as exc:
            self._failed(exc)
            return
        self._recovered()
        chunk = self._convert(window)
        with self._lock:
            if self._want_start is not None:  # not superseded meanwhile
                self._want_start = None
                self._ready = chunk
                self._ready_event.set()

    def _send_progress(self) -> None:
        now = time.monotonic()
        if self.outage_since is not None or now - self._progress_sent_at < self.progress_every_s:
            return
        step = self._current_step()
        if step is None or step == self._progress_sent:
            return
        try:
            self.run.report_progress(step, worker=self._identity, max_retries=0, timeout=5.0)
        except LrhubError as exc:
            self._failed(exc)
            return
        self._progress_sent = step
        self._progress_sent_at = now
