"""Calibrate engine.cost on this machine: µs per evaluation call and ns per value, per type.

Run `python bench/engine_cost.py`. It measures CPU (process) time of
`Schedule.evaluate` over 1 and 4,096 steps for each type's example spec (bench/engine.py),
subtracts the children's and the evaluation's own share, and prints the coefficients
in the form engine/cost.py holds them (``TYPE_COSTS`` and the module constants), rounded
up with a safety factor. Re-run it and update engine/cost.py when the engine changes.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench.engine import SPECS
from lrhub_service.engine import Segment, build_schedule, parse_spec
from lrhub_service.engine.expr import compile_expression, forget_compiled

SAFETY = 1.25
FLOOR = (1.0, 1.0)  # no part is free: at least 1 µs per call and 1 ns per value
WIDE = 4096
EXP = {"type": "ExponentialLR", "gamma": 0.999}


def measure(data: dict[str, Any], steps: int, rounds: int = 7, repeat: int = 5) -> float:
    """Median CPU µs of one ``evaluate`` over ``steps`` steps (one group)."""
    sched = build_schedule([Segment(0, parse_spec(data))], [0.1], [0.9])
    state = sched.initial_state()
    at = np.arange(1000, 1000 + steps, dtype=np.int64)
    sched.evaluate(at, state)  # warm caches
    samples = []
    for _ in range(rounds):
        began = time.process_time()
        for _ in range(repeat):
            sched.evaluate(at, state)
        samples.append((time.process_time() - began) / repeat * 1e6)
    return statistics.median(samples)


def alone(data: dict[str, Any]) -> tuple[float, float]:
    """(µs per call, ns per value) of a whole spec."""
    one, wide = measure(data, 1), measure(data, WIDE)
    return one, max(0.0, (wide - one) / (WIDE - 1) * 1000)


def slope(children: int) -> tuple[float, float]:
    """Per-child (µs per call, ns per value) of a chain of ExponentialLR."""
    small = alone({"type": "ChainedScheduler", "schedulers": [EXP] * 2})
    big = alone({"type": "ChainedScheduler", "schedulers": [EXP] * (children + 2)})
    return (big[0] - small[0]) / children, (big[1] - small[1]) / children


def expression_coefficients() -> dict[str, float]:
    """Per operation: µs per call, ns per value (numpy), ns per value (per-element calls)."""
    cheap = "+".join(["step * 1.0001"] * 30)
    dear = "+".join(["exp(-step / 1e9)"] * 6)
    found = {}
    for name, source in (("cheap", cheap), ("dear", dear)):
        compiled = compile_expression(source, loc="x")
        call, value = alone({"type": "LambdaLR", "lr_lambda": source})
        found[name] = (call, value, compiled.operations, compiled.elementwise)
    call, value, ops, _ = found["cheap"]
    base_call, base_value = alone({"type": "LambdaLR", "lr_lambda": "step"})
    op_call = (call - base_call) / (ops - 1)
    op_value = (value - base_value) / (ops - 1)
    _, dear_value, dear_ops, elementwise = found["dear"]
    per_element = (
        (dear_value - base_value) - (dear_ops - elementwise - 1) * op_value
    ) / elementwise
    slow_value = alone({"type": "LambdaLR", "lr_lambda": "+".join(["(2 + cos(step))"] * 20)})[1]
    slow = (slow_value - base_value - 79 * op_value) / 20  # 20 cos; '+', 2 and step: 79 cheap
    forget_compiled()
    started = time.process_time()
    for i in range(20):
        compile_expression(cheap + " " * i, loc="x")  # distinct sources: no cache hits
    per_char = (time.process_time() - started) / 20 / len(cheap) * 1e6
    return {
        "OP_CALL_US": op_call,
        "OP_VALUE_NS": op_value,
        "SLOW_VALUE_NS": slow,
        "ELEMENTWISE_VALUE_NS": per_element,
        "COMPILE_US_PER_CHAR": per_char,
    }


def main() -> None:
    child_call, child_value = slope(64)
    exp_call, exp_value = alone(EXP)
    base = (max(0.5, exp_call - child_call), max(0.5, exp_value - child_value))
    own: dict[str, tuple[float, float]] = {}
    for name, data in SPECS.items():
        kind = data["type"]
        if kind in own:
            continue
        if kind == "LambdaLR":  # its expression is costed on its own (expression_cost)
            data = {**data, "lr_lambda": "step"}
        call, value = alone(data)
        kids = [data["schedule"]] if "schedule" in data else data.get("schedulers", [])
        for kid in kids:
            kid_call, kid_value = own.get(kid["type"], (0.0, 0.0))
            call, value = call - kid_call, value - kid_value
        own[kind] = (max(FLOOR[0], call - base[0]), max(FLOOR[1], value - base[1]))
        print(f"# {name}: {own[kind][0]:.1f} µs per call, {own[kind][1]:.1f} ns per value")
    print("TYPE_COSTS = {")
    for kind, (call, value) in own.items():
        print(f'    "{kind}": ({call * SAFETY:.1f}, {value * SAFETY:.1f}),')
    print("}")
    print(f"EVALUATE_CALL_US = {base[0] * SAFETY:.1f}")
    print(f"EVALUATE_VALUE_NS = {base[1] * SAFETY:.1f}")
    for key, value in expression_coefficients().items():
        print(f"{key} = {max(value, 0.25) * SAFETY:.2f}")


if __name__ == "__main__":
    main()
