"""The worst request each limit admits, measured: CPU ms against the 50 ms budget.

Run `python bench/engine_limits.py`. For each costly kind of issue 9 it builds the spec at
its limit, asks engine.limits how many steps one request may evaluate, then measures the
CPU (process) time of the engine's whole work for that request on a fresh build: parse
and validate, build, evaluate. Refusals are timed too (they must be cheap).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))

import numpy as np

from lrhub_service.engine import (
    LIMITS,
    Segment,
    SpecError,
    admit,
    build_schedule,
    validate_spec,
)
from lrhub_service.engine.expr import forget_compiled

EXP = {"type": "ExponentialLR", "gamma": 0.999}
SGDR = {"type": "SGDR", "T_0": 7, "T_mult": 1.5, "restart_decay": 0.8}
TERM = "0.5 * (1 + cos(pi * step / 9e4)) * min(1, (step + 1) / 500)"
CHEAP = "+".join([TERM] * (LIMITS.max_expression_chars // (len(TERM) + 1)))
DEAR = "+".join(["exp(-step/9e9)"] * 30)  # 30 terms: within the nesting depth
WIDE = LIMITS.max_children


def _running_product() -> dict[str, Any]:
    """The most operations a step-dependent MultiplicativeLR's factor may have."""
    for count in range(LIMITS.max_expression_ops, 0, -2):
        data = {"type": "MultiplicativeLR", "lr_lambda": "min(1," + ",".join(["x"] * count) + ")"}
        try:
            validate_spec(data)
        except SpecError:
            continue
        return data
    raise AssertionError("no running product admitted")


CASES: dict[str, tuple[dict[str, Any], int, int | None]] = {  # spec, groups, first step
    "step-dependent MultiplicativeLR at its op limit, one value at step 999999": (
        _running_product(), 1, 999_999),
    f"ChainedScheduler of {WIDE} ExponentialLR, widest window": (
        {"type": "ChainedScheduler", "schedulers": [EXP] * WIDE}, 1, None),
    f"ChainedScheduler of {WIDE} SGDR (dearest type), widest window": (
        {"type": "ChainedScheduler", "schedulers": [SGDR] * WIDE}, 1, None),
    f"SequentialLR of {WIDE} SGDR, a window across all of them": (
        {"type": "SequentialLR", "schedulers": [SGDR] * WIDE,
         "milestones": list(range(8, 8 * WIDE, 8))}, 1, None),
    "ChainedScheduler of 50 LambdaLR, distinct 500-char expressions": (
        {"type": "ChainedScheduler", "schedulers": [
            {"type": "LambdaLR", "lr_lambda": CHEAP.replace("500", str(500 + i))}
            for i in range(50)]}, 1, None),
    f"LambdaLR of {DEAR.count('exp')} exp() calls, widest window": (
        {"type": "LambdaLR", "lr_lambda": DEAR}, 1, None),
    "OneCycleLR, 10 groups, widest preview": (
        {"type": "OneCycleLR", "max_lr": [0.1] * 10, "total_steps": 10**6}, 10, None),
}  # fmt: skip
REFUSED: dict[str, dict[str, Any]] = {
    "ChainedScheduler of 10,000 ExponentialLR": {
        "type": "ChainedScheduler",
        "schedulers": [EXP] * 10_000,
    },
    "MultiplicativeLR min(1, x, ... 240 x)": {
        "type": "MultiplicativeLR",
        "lr_lambda": "min(1," + ",".join(["x"] * 240) + ")",
    },
}


def window_ms(data: dict[str, Any], groups: int, first: int | None) -> tuple[float, int, float]:
    """A run's request: (CPU ms to evaluate on its built schedule, steps, estimated ms)."""
    spec, cost = validate_spec(data)
    steps = 1 if first is not None else admit(cost, 10**7, groups, cap=True)
    sched = build_schedule([Segment(0, spec)], [0.1] * groups, [0.9] * groups)
    start = first if first is not None else 0
    began = time.process_time()
    sched.evaluate(np.arange(start, start + steps, dtype=np.int64), sched.initial_state())
    return (time.process_time() - began) * 1000, steps, cost.request_us(steps, groups) / 1000


def preview_ms(data: dict[str, Any], groups: int, first: int | None) -> tuple[float, int, float]:
    """A preview: (CPU ms to validate, build and evaluate from nothing, steps, estimated ms)."""
    forget_compiled()
    began = time.process_time()
    spec, cost = validate_spec(data)
    steps = 1 if first is not None else admit(cost, 10**7, groups, cap=True, fresh=True)
    sched = build_schedule([Segment(0, spec)], [0.1] * groups, [0.9] * groups)
    start = first if first is not None else 0
    sched.evaluate(np.arange(start, start + steps, dtype=np.int64), sched.initial_state())
    estimate = cost.request_us(steps, groups, fresh=True) / 1000
    return (time.process_time() - began) * 1000, steps, estimate


def refusal_ms(data: dict[str, Any]) -> tuple[float, str]:
    began = time.process_time()
    try:
        validate_spec(data)
    except SpecError as exc:
        return (time.process_time() - began) * 1000, exc.detail[:70]
    raise AssertionError("admitted")


def main(rounds: int = 5) -> None:
    print(f"budget {LIMITS.budget_us / 1000:.0f} ms CPU; limits: {LIMITS}")
    print(f"{'case':<72} {'kind':>7} {'steps':>7} {'est ms':>7} {'CPU ms':>7}")
    for name, (data, groups, first) in CASES.items():
        for kind, measure in (("window", window_ms), ("preview", preview_ms)):
            try:
                runs = [measure(data, groups, first) for _ in range(rounds)]
            except SpecError as exc:
                print(f"{name:<72} {kind:>7} refused: {exc.detail[:60]}")
                continue
            cpu = statistics.median(r[0] for r in runs)
            print(f"{name:<72} {kind:>7} {runs[0][1]:>7} {runs[0][2]:>7.1f} {cpu:>7.1f}")
    for name, data in REFUSED.items():
        cpu, why = statistics.median(refusal_ms(data)[0] for _ in range(rounds)), ""
        why = refusal_ms(data)[1]
        print(f"refused: {name:<63} {cpu:>7.1f} ms  ({why})")


if __name__ == "__main__":
    main()
