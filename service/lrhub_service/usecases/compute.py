"""Bounded evaluation: engine work runs on the event loop only when it is cheap.

Every evaluation a request asks for has an estimated cost (:func:`request_cost`). Over the
budget it is refused with a 422 naming the field and the limit; under ``inline_cost`` it
runs inline (a one-step read stays as fast as a dictionary lookup); anything else goes to
one worker thread behind a small admission queue. A full queue, or a wait in it longer
than ``wait_s``, sheds the request with a 503 and ``Retry-After``; a job still running
after ``run_s`` is stopped in its thread (see :mod:`lrhub_service.usecases.stoppable`) and
refused as too costly. So no request holds the loop, and none waits more than
``wait_s + run_s`` for its answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from lrhub_service.settings import Settings
from lrhub_service.usecases.compiled import CompiledRun, Weight
from lrhub_service.usecases.errors import Invalid, Unavailable
from lrhub_service.usecases.stoppable import Job, StoppableWorkers

T = TypeVar("T")
RUNNING_PRODUCTS = {"MultiplicativeLR"}
RUNNING_PRODUCT_SPAN = 1_000_000  # the engine holds a running product from this step on


class RequestRefused(Exception):
    """Mixin of the errors that refuse work: ``reason`` labels the refusal in /metrics."""

    reason = "limit"


class LimitExceeded(RequestRefused, Invalid):
    """A request over a published limit (422 naming the field and the limit)."""

    def __init__(self, field: str, message: str, reason: str = "limit") -> None:
        super().__init__(message, loc=field)
        self.reason = reason


class Overloaded(RequestRefused, Unavailable):
    """The evaluation queue is full: retry shortly (503 with ``Retry-After``)."""

    def __init__(self, reason: str) -> None:
        super().__init__("the server is busy evaluating other requests; retry shortly")
        self.reason = reason
        self.headers = {"Retry-After": "1"}


def spec_weight(specs: Iterable[Any]) -> Weight:
    """The weight of one or more (raw or canonical) spec JSON objects: nodes and expressions.

    A dictionary counts one; a string counts one per 4 characters (expressions dominate);
    a step-dependent running product makes a value's cost grow with its step.
    """
    nodes, running, stack = 0, False, list(specs)
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            nodes += 1
            if item.get("type") in RUNNING_PRODUCTS:
                running = True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            nodes += 1 + len(item) // 4
    return Weight(max(nodes, 1), running)


def request_cost(weight: Weight, first_step: int, steps: int, groups: int) -> int:
    """Estimated work of ``steps`` values from ``first_step`` over ``groups`` groups.

    The one cost estimate of the service: ``steps x groups x nodes`` (plus the walk of a
    running product up to its last step). The engine's cost model replaces this body.
    """
    span = steps
    if weight.running_product:
        span = max(steps, min(first_step + steps, RUNNING_PRODUCT_SPAN))
    return span * max(groups, 1) * weight.nodes


@dataclass(frozen=True)
class Limits:
    """The published limits of one server (``GET /v1/limits``)."""

    window_max: int
    advance_max: int
    preview_max_steps: int
    preview_max_values: int
    max_cost: int
    inline_cost: int
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
            max_cost=settings.eval_max_cost,
            inline_cost=settings.eval_inline_cost,
            eval_queue=settings.eval_queue,
            eval_wait_s=settings.eval_wait_s,
            eval_timeout_s=settings.eval_timeout_s,
        )

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class Evaluator:
    """Runs engine work inline when cheap, else on a bounded worker, never past its limits."""

    def __init__(self, limits: Limits, workers: int = 1) -> None:
        self.limits = limits
        self._workers = StoppableWorkers(workers)
        self._capacity = workers + limits.eval_queue
        self._admitted = 0  # queued or running; touched on the event loop only

    def close(self) -> None:
        self._workers.close()

    def admit(self, cost: int, field: str) -> None:
        """Refuse (422) a request whose estimated cost is over the budget."""
        if cost > self.limits.max_cost:
            raise LimitExceeded(
                field,
                f"the request would cost about {cost:,} node evaluations; the limit is "
                f"{self.limits.max_cost:,} (see GET /v1/limits): ask for fewer steps or groups",
            )

    async def run(self, cost: int, field: str, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` within the limits; ``field`` is the input a refusal names."""
        self.admit(cost, field)
        if cost <= self.limits.inline_cost:
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


def affordable_steps(evaluator: Evaluator, compiled: CompiledRun, first: int, wanted: int) -> int:
    """``wanted`` capped so that the values from ``first`` fit the cost budget (at least 1)."""
    per_step = run_cost(compiled, first, 1)
    if compiled.weight.running_product:
        return wanted  # the walk to ``first`` dominates: admit() judges the whole request
    return max(1, min(wanted, evaluator.limits.max_cost // max(per_step, 1)))


def run_cost(compiled: CompiledRun, first_step: int, steps: int) -> int:
    """The estimated cost of ``steps`` values of a compiled run from ``first_step``."""
    return request_cost(compiled.weight, first_step, steps, compiled.schedule.num_groups)
