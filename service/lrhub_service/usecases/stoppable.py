"""Worker threads whose running job can be stopped from outside.

A job past its time limit is stopped by raising :class:`Stopped` inside its thread
(CPython's ``PyThreadState_SetAsyncExc``): the thread leaves the job at its next Python
bytecode and takes the next one. A job inside one long C call (a huge numpy operation)
stops when that call returns, which is why the engine's limits keep each such call small.
Exactly one stop is sent per job, only while the job is registered as running, and the
worker consumes it in ``_run_one`` wherever it lands, so a stop never escapes a job.
"""

from __future__ import annotations

import ctypes
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

_NOTHING = object()


class Stopped(BaseException):
    """Raised inside a job's thread to stop it (a BaseException: ``except Exception`` misses it)."""


class Refusal(Exception):
    """A job that was not (fully) run: ``lrhub_refusal`` says why ("timeout", "queue_wait")."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.lrhub_refusal = kind


class Job:
    """One call to run, with the hooks its submitter is told through."""

    def __init__(
        self, fn: Callable[..., Any], args: tuple[Any, ...], submitted: float, max_wait_s: float
    ) -> None:
        self.fn = fn
        self.args = args
        self.submitted = submitted
        self.max_wait_s = max_wait_s
        self.abandoned = False
        self.stop_sent = False
        self.settled = False  # set by the submitter when it has taken the outcome
        self.on_start: Callable[[], None] = lambda: None
        self.on_done: Callable[[Any, BaseException | None], None] = lambda _r, _e: None


def _raise_in(thread_id: int) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(Stopped))


class StoppableWorkers:
    """A fixed set of daemon threads taking jobs from one queue."""

    def __init__(self, count: int) -> None:
        self._count = count
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._running: dict[int, Job] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        for index in range(self._count):
            thread = threading.Thread(target=self._work, name=f"lrhub-eval-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self, timeout_s: float = 5.0) -> None:
        for _thread in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join(timeout_s)
        self._threads.clear()

    def submit(self, job: Job) -> None:
        if not self._threads:
            self.start()
        self._jobs.put(job)

    def stop(self, job: Job) -> None:
        """Stop ``job`` if it is still running (at most once)."""
        with self._lock:
            for thread_id, running in self._running.items():
                if running is job and not job.stop_sent:
                    job.stop_sent = True
                    _raise_in(thread_id)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            outcome: tuple[Any, BaseException | None] | None = None
            if job.abandoned:
                outcome = (None, Refusal("abandoned"))
            elif time.monotonic() - job.submitted > job.max_wait_s:
                outcome = (None, Refusal("queue_wait"))
            while True:  # a stop landing after the job (it is sent at most once) is dropped
                try:
                    if outcome is None:
                        outcome = self._run_one(job)
                    job.on_done(*outcome)  # the submitter ignores a second delivery
                    break
                except Stopped:
                    continue

    def _run_one(self, job: Job) -> tuple[Any, BaseException | None]:
        result: Any = _NOTHING
        error: BaseException | None = None
        thread_id = threading.get_ident()
        try:
            with self._lock:
                self._running[thread_id] = job
            job.on_start()
            try:
                result = job.fn(*job.args)
            except Stopped:
                raise
            except BaseException as exc:  # the job's own error goes back to its submitter
                error = exc
            with self._lock:
                self._running.pop(thread_id, None)
        except Stopped:  # landed in the job, or just after it: the one stop of this job
            with self._lock:
                self._running.pop(thread_id, None)
            if result is _NOTHING and error is None:
                error = Refusal("timeout")
        return (None if result is _NOTHING else result), error
