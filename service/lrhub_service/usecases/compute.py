"""Bounded evaluation: engine work runs on the event loop only when it is cheap.

Every evaluation has a cost estimated by the engine's model (``engine.cost``: CPU µs from
the spec's :class:`~lrhub_service.engine.SpecCost`, which a compiled run carries). A run's
window, advance or report window is capped to the steps that fit the engine's CPU budget
(:func:`affordable_steps`); a preview over it is refused with a 422 naming the field and the
limit (:func:`admit_preview`). Work estimated under ``inline_us`` runs inline (a one-step
read stays as fast as a dictionary lookup); anything else goes to one worker thread behind
a small admission queue. A full queue, or a wait in it longer than ``wait_s``, sheds the
request with a 503 and ``Retry-After``; a job still running after ``run_s`` is stopped in
its thread (see :mod:`lrhub_service.usecases.stoppable`) and refused as too costly. So no
request holds the loop, and none waits more than ``wait_s + run_s`` for its answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from lrhub_service.engine import (
    LIMITS,
    CostLimitError,
    SpecCost,
    admit,
    allowed_steps,
    limits_json,
)
from lrhub_service.settings import Settings
from lrhub_service.usecases.compiled import CompiledRun
from lrhub_service.usecases.errors import Invalid, Unavailable
from lrhub_service.usecases.stoppable import Job, StoppableWorkers

T = TypeVar("T")
INLINE_SHARE = 0.02  # work under 2% of the CPU budget (1 ms) runs on the event loop
UNKNOWN_US = LIMITS.budget_us  # work whose cost is known only once a spec is parsed


class RequestRefused(Exception):
    """Mixin of the errors that refuse work: ``reason`` labels the refusal in /metrics."""

    reason = "limit"


class LimitExceeded(RequestRefused, Invalid):
    """A request over a published limit (422 naming the field and the limit)."""

    def __init__(
        self,
        field: str,
        message: str,
        reason: str = "limit",
        errors: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message, loc=field, errors=errors)
        self.reason = reason


class Overloaded(RequestRefused, Unavailable):
    """The evaluation queue is full: retry shortly (503 with ``Retry-After``)."""

    def __init__(self, reason: str) -> None:
        super().__init__("the server is busy evaluating other requests; retry shortly")
        self.reason = reason
        self.headers = {"Retry-After": "1"}


@dataclass(frozen=True)
class Limits:
    """The service's caps and evaluator settings; the spec and cost limits are the engine's."""

    window_max: int
    advance_max: int
    preview_max_steps: int
    preview_max_values: int
    inline_us: float
    eval_queue: int
    eval_wait_s: float
    eval_timeout_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            window_max=settings.window_max,
            advance_max=settings.advance_max,
            preview_max_steps=settings.preview_max_steps,
            preview_max_values=settings.preview_max_values,
            inline_us=INLINE_SHARE * LIMITS.budget_us,
            eval_queue=settings.eval_queue,
            eval_wait_s=settings.eval_wait_s,
            eval_timeout_s=settings.eval_timeout_s,
        )

    def as_json(self) -> dict[str, Any]:
        """``GET /v1/limits``: the engine's limits (``engine.limits_json``) and these caps."""
        return {**limits_json(), **self.__dict__}


class Evaluator:
    """Runs engine work inline when cheap, else on a bounded worker, never past its limits."""

    def __init__(self, limits: Limits, workers: int = 1) -> None:
        self.limits = limits
        self._workers = StoppableWorkers(workers)
        self._capacity = workers + limits.eval_queue
        self._admitted = 0  # queued or running; touched on the event loop only

    def close(self) -> None:
        self._workers.close()

    async def run(self, cost_us: float, field: str, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)``, estimated at ``cost_us`` of CPU: inline when cheap, else on the
        worker; ``field`` is the input a refusal (time limit) names."""
        if cost_us <= self.limits.inline_us:
            return fn(*args)
        if self._admitted >= self._capacity:
            raise Overloaded("queue_full")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()
        job = Job(fn, args, time.monotonic(), self.limits.eval_wait_s)
        self._admitted += 1

        def settle(result: Any, error: BaseException | None) -> None:
            if job.settled:
                return
            job.settled = True
            self._admitted -= 1
            if done.cancelled():
                return
            if error is not None:
                done.set_exception(self._refusal(error, field))
            else:
                done.set_result(result)

        def started() -> None:
            loop.call_later(self.limits.eval_timeout_s, self._workers.stop, job)

        job.on_start = lambda: loop.call_soon_threadsafe(started)
        job.on_done = lambda result, error: loop.call_soon_threadsafe(settle, result, error)
        self._workers.submit(job)  # the threads start with the first job
        try:
            return await done  # type: ignore[no-any-return]
        except asyncio.CancelledError:
            job.abandoned = True  # the client went away: skip it if it has not started
            raise

    def _refusal(self, error: BaseException, field: str) -> BaseException:
        kind = getattr(error, "lrhub_refusal", None)
        if kind == "timeout":
            return LimitExceeded(
                field,
                f"the evaluation ran past the time limit of {self.limits.eval_timeout_s:g} s "
                "and was stopped: ask for fewer steps or a simpler schedule",
                reason="timeout",
            )
        if kind == "queue_wait":
            return Overloaded("queue_wait")
        return error


def affordable_steps(compiled: CompiledRun, wanted: int) -> int:
    """``wanted`` capped to the steps of ``compiled`` that fit the engine's CPU budget.

    At least 1: the engine admitted the run's specs, so one value always fits (a running
    product's walk, the only one-off work left, is within the budget on its own).
    """
    allowed = allowed_steps(compiled.cost, compiled.schedule.num_groups, fresh=True)
    return max(1, min(wanted, allowed))


def request_us(compiled: CompiledRun, steps: int) -> float:
    """The engine's estimate of CPU µs for ``steps`` values of a compiled run."""
    return compiled.cost.request_us(steps, compiled.schedule.num_groups, fresh=True)


def admit_preview(found: SpecCost, steps: int, groups: int) -> None:
    """Refuse (422 naming ``steps`` and the limit) a preview over the engine's CPU budget."""
    try:
        admit(found, steps, groups, "steps", fresh=True)
    except CostLimitError as exc:
        raise LimitExceeded("steps", f"{exc.errors[0]['msg']}; see GET /v1/limits") from exc


def curve_budget(cost: SpecCost, groups: int, points: int, samples: int) -> tuple[int, float]:
    """Samples per bucket (1 to ``samples``) that fit the CPU budget for a curve of
    ``points`` buckets, and the estimated cost of evaluating them."""
    allowed = allowed_steps(cost, groups, fresh=True)
    per_bucket = max(1, min(samples, allowed // max(points, 1)))
    return per_bucket, cost.request_us(points * per_bucket, groups, fresh=True)
