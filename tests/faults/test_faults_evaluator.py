"""The bounded evaluator on real threads: inline when cheap, stopped past its time limit,
shed when its queue is full or a job waited too long, refused over the cost budget."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from lrhub_service.engine import SpecError
from lrhub_service.usecases.compute import (
    Evaluator,
    LimitExceeded,
    Limits,
    Overloaded,
    request_cost,
    spec_weight,
)

LIMITS = Limits(
    window_max=4096,
    advance_max=4096,
    preview_max_steps=100_000,
    preview_max_values=2_000_000,
    max_cost=1_000_000,
    inline_cost=100,
    eval_queue=1,
    eval_wait_s=0.5,
    eval_timeout_s=0.3,
)


def spin(seconds: float) -> int:
    """Pure-Python work for ``seconds`` (a loop a stop can interrupt)."""
    end, turns = time.perf_counter() + seconds, 0
    while time.perf_counter() < end:
        turns += 1
    return turns


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_cheap_work_runs_inline_and_costly_work_on_a_worker_thread() -> None:
    async def main() -> tuple[int, int]:
        evaluator = Evaluator(LIMITS)
        try:
            inline = await evaluator.run(10, "step", threading.get_ident)
            offloaded = await evaluator.run(10_000, "count", threading.get_ident)
        finally:
            evaluator.close()
        return inline, offloaded

    inline, offloaded = run(main())
    assert inline == threading.get_ident()
    assert offloaded != threading.get_ident()


def test_a_job_past_its_time_limit_is_stopped_and_the_worker_serves_the_next() -> None:
    async def main() -> tuple[LimitExceeded, float, int]:
        evaluator = Evaluator(LIMITS)
        try:
            began = time.perf_counter()
            with pytest.raises(LimitExceeded) as refused:
                await evaluator.run(10_000, "count", spin, 30.0)
            took = time.perf_counter() - began
            after = await evaluator.run(10_000, "count", lambda: 7)
        finally:
            evaluator.close()
        return refused.value, took, after

    refused, took, after = run(main())
    assert took < LIMITS.eval_timeout_s + 0.5, took
    assert refused.reason == "timeout" and refused.status == 422
    assert refused.errors[0]["loc"] == "count" and "0.3 s" in refused.message
    assert after == 7


def test_a_full_queue_sheds_with_retry_after_and_a_long_wait_is_shed_too() -> None:
    limits = Limits(**{**LIMITS.as_json(), "eval_timeout_s": 5.0, "eval_wait_s": 0.2})

    async def main() -> list[BaseException | int]:
        evaluator = Evaluator(limits)
        try:
            busy = asyncio.ensure_future(evaluator.run(10_000, "count", spin, 0.6))
            await asyncio.sleep(0.05)  # the worker is busy: the next one waits in the queue
            queued = asyncio.ensure_future(evaluator.run(10_000, "count", lambda: 1))
            await asyncio.sleep(0.05)
            with pytest.raises(Overloaded) as full:  # worker + queue of 1 are taken
                await evaluator.run(10_000, "count", lambda: 2)
            return [full.value, *await asyncio.gather(busy, queued, return_exceptions=True)]
        finally:
            evaluator.close()

    full, busy, queued = run(main())
    assert isinstance(full, Overloaded) and full.reason == "queue_full"
    assert full.status == 503 and full.headers == {"Retry-After": "1"}
    assert isinstance(busy, int) and busy > 0
    assert isinstance(queued, Overloaded) and queued.reason == "queue_wait"


def test_over_the_cost_budget_is_refused_before_any_work() -> None:
    called = []

    async def main() -> None:
        evaluator = Evaluator(LIMITS)
        try:
            await evaluator.run(LIMITS.max_cost + 1, "steps", called.append, 1)
        finally:
            evaluator.close()

    with pytest.raises(LimitExceeded) as refused:
        run(main())
    assert called == []
    assert refused.value.errors[0]["loc"] == "steps"
    assert "1,000,000" in refused.value.message and "/v1/limits" in refused.value.message


def test_a_jobs_own_error_reaches_its_caller_unchanged() -> None:
    def bad() -> None:
        raise SpecError("must be > 0", "T_max")

    async def main() -> None:
        evaluator = Evaluator(LIMITS)
        try:
            await evaluator.run(10_000, "count", bad)
        finally:
            evaluator.close()

    with pytest.raises(SpecError) as raised:
        run(main())
    assert raised.value.errors == [{"loc": "T_max", "msg": "must be > 0"}]


def test_cost_counts_nodes_expressions_groups_and_a_running_products_walk() -> None:
    cosine = spec_weight([{"type": "CosineAnnealingLR", "T_max": 10}])
    lam = spec_weight([{"type": "LambdaLR", "lr_lambda": "0.5 * " * 40 + "1"}])
    product = spec_weight([{"type": "MultiplicativeLR", "lr_lambda": "0.99 + 0 * x"}])
    assert lam.nodes > 5 * cosine.nodes
    assert request_cost(cosine, 0, 100, 2) == 2 * request_cost(cosine, 0, 100, 1)
    assert not cosine.running_product and product.running_product
    assert request_cost(product, 999_999, 1, 1) >= 1_000_000
    assert request_cost(product, 10, 1, 1) == 11 * product.nodes  # steps 0..10 walked
