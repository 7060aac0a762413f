"""The bounded evaluator on real threads: inline when cheap, stopped past its time limit,
shed when its queue is full or a job waited too long; the engine's cost model caps a run's
requests and refuses a preview over the CPU budget."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from typing import Any

import pytest

from lrhub_service.engine import LIMITS as ENGINE_LIMITS
from lrhub_service.engine import SpecError, allowed_steps, validate_spec
from lrhub_service.settings import Settings
from lrhub_service.usecases.compiled import SegmentRecord, build
from lrhub_service.usecases.compute import (
    Evaluator,
    LimitExceeded,
    Limits,
    Overloaded,
    admit_preview,
)

LIMITS = Limits(
    window_max=4096,
    advance_max=4096,
    preview_max_steps=100_000,
    preview_max_values=2_000_000,
    inline_us=100.0,
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
    limits = dataclasses.replace(LIMITS, eval_timeout_s=5.0, eval_wait_s=0.2)

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


def test_the_inline_share_of_the_budget_comes_from_the_engine() -> None:
    limits = Limits.from_settings(Settings())
    assert limits.inline_us == pytest.approx(0.02 * ENGINE_LIMITS.budget_us)
    served = limits.as_json()
    assert served["budget_us"] == ENGINE_LIMITS.budget_us  # the engine's limits, one place
    assert served["max_children"] == ENGINE_LIMITS.max_children
    assert served["window_max"] == Settings().window_max and "max_cost" not in served


def test_a_preview_over_the_cpu_budget_is_refused_naming_steps_and_the_limit() -> None:
    found = validate_spec({"type": "OneCycleLR", "max_lr": 0.1, "total_steps": 10})[1]
    allowed = allowed_steps(found, 8, fresh=True)
    admit_preview(found, allowed, 8)  # at the limit: admitted
    with pytest.raises(LimitExceeded) as refused:
        admit_preview(found, allowed + 1, 8)
    assert refused.value.status == 422 and refused.value.errors[0]["loc"] == "steps"
    message = refused.value.message
    assert f"at most {allowed} steps" in message and "50 ms" in message
    assert "/v1/limits" in message


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


def test_a_compiled_runs_cost_is_the_engines_over_its_revisions() -> None:
    cosine = {"type": "CosineAnnealingLR", "T_max": 10, "base_lr": 0.1}
    lam = {"type": "LambdaLR", "lr_lambda": "+".join(["cos(step)"] * 20), "base_lr": 0.1}
    segments = [
        SegmentRecord(1, 0, cosine, 0, None),
        SegmentRecord(2, 100, lam, 100, None),
    ]
    _, both = build(segments, None, None, None)
    alone = [validate_spec(spec)[1] for spec in (cosine, lam)]
    assert both.value_us == max(found.value_us for found in alone)  # one segment per step
    assert both.call_us == pytest.approx(sum(found.call_us for found in alone))
    assert both.prefix_us == 0.0  # compiled at build: nothing one-off is left
    product = {"type": "MultiplicativeLR", "lr_lambda": "0.99 + 0 * x", "base_lr": 0.1}
    _, walking = build([SegmentRecord(1, 0, product, 0, None)], None, None, None)
    assert walking.prefix_us > 0  # a running product's walk may still be paid once
