"""Engine cost: microseconds per value for every schedule type at step 10 and at step 10^9.

Run `python bench/engine.py [--quick]`, or `python -m bench` (which calls `main(quick)`).
The ratio (step 10^9 / step 10) should be about 1: every value is a closed form.
The `refold` rows time what a resume does: fold (and decide) every stored report again;
µs per report for 100k reports vs 1k should be about 1 (linear, not quadratic).
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))

from lrhub_service.engine import (
    MetricState,
    Report,
    Segment,
    SpecError,
    build_schedule,
    parse_spec,
    type_names,
)

BIG = 10**9
COS = {"type": "CosineAnnealingLR", "T_max": 10_000}
SPECS: dict[str, dict[str, Any]] = {
    "LambdaLR": {"type": "LambdaLR", "lr_lambda": "0.95 ** (step // 100)"},
    "MultiplicativeLR (constant)": {"type": "MultiplicativeLR", "lr_lambda": "0.9999"},
    "MultiplicativeLR (step-dependent)": {
        "type": "MultiplicativeLR",
        "lr_lambda": "1 - 1e-7 * (step % 3)",
    },
    "StepLR": {"type": "StepLR", "step_size": 30},
    "MultiStepLR": {"type": "MultiStepLR", "milestones": [30, 60, 90, 1000, 10**8]},
    "ConstantLR": {"type": "ConstantLR"},
    "LinearLR": {"type": "LinearLR", "total_iters": 100},
    "ExponentialLR": {"type": "ExponentialLR", "gamma": 0.999},
    "PolynomialLR": {"type": "PolynomialLR", "total_iters": 10_000, "power": 2.0},
    "CosineAnnealingLR": COS,
    "CosineAnnealingWarmRestarts": {"type": "CosineAnnealingWarmRestarts", "T_0": 10, "T_mult": 2},
    "CyclicLR": {"type": "CyclicLR", "max_lr": 1.0, "step_size_up": 2000, "mode": "triangular2"},
    "OneCycleLR": {"type": "OneCycleLR", "max_lr": 0.4, "total_steps": 90_000},
    "ReduceLROnPlateau": {"type": "ReduceLROnPlateau", "patience": 0},
    "SequentialLR": {
        "type": "SequentialLR",
        "schedulers": [{"type": "LinearLR", "start_factor": 0.01, "total_iters": 500}, COS],
        "milestones": [500],
    },
    "ChainedScheduler": {
        "type": "ChainedScheduler",
        "schedulers": [{"type": "ExponentialLR", "gamma": 0.9999}, COS],
    },
}


# engine-beyond's types, with their docs' examples (docs/schedules.md, "Beyond torch")
SPECS.update(
    {
        "Warmup": {"type": "Warmup", "warmup_steps": 500, "schedule": COS},
        "SGDR": {"type": "SGDR", "T_0": 1000, "T_mult": 1.5, "restart_decay": 0.8},
        "WarmupStableDecay": {
            "type": "WarmupStableDecay",
            "warmup_steps": 2000,
            "stable_steps": 80000,
            "decay_steps": 18000,
        },
        "InverseSqrt": {"type": "InverseSqrt", "warmup_steps": 4000},
        "LRRangeTest": {"type": "LRRangeTest", "start_lr": 1e-7, "end_lr": 10, "num_steps": 100},
        "DivergenceGuard": {"type": "DivergenceGuard", "lr_factor": 0.5, "schedule": COS},
        "BatchSizeScaling": {
            "type": "BatchSizeScaling",
            "reference_batch_size": 256,
            "reference_lr": 0.1,
            "batch_size": 8192,
            "auto_warmup_steps": 3125,
        },
        "PerEpoch": {
            "type": "PerEpoch",
            "steps_per_epoch": 5005,
            "schedule": {"type": "StepLR", "step_size": 30},
        },
        # the library-shaped primitives and forms (docs/schedules.md, docs/compat.md)
        "CycleAnneal": {"type": "CycleAnneal", "T_0": 7.5, "T_mult": 1.5, "cycle_limit": None},
        "CosineDecay": {"type": "CosineDecay", "decay_steps": 9000, "num_cycles": 3.0},
        "Offset": {"type": "Offset", "steps": 1, "schedule": {"type": "StepLR", "step_size": 30}},
        "GreedyLR": {"type": "GreedyLR", "patience": 5},
        "LRNoise": {"type": "LRNoise", "range_start": 0, "schedule": COS},
        "transformers": {
            "type": "transformers",
            "name": "cosine",
            "num_warmup_steps": 500,
            "num_training_steps": 10_000,
        },
        "timm": {"type": "timm", "scheduler": "CosineLRScheduler", "t_initial": 300, "warmup_t": 5},
    }
)


def _state(sched: Any) -> MetricState:
    """A state with a few decisions, so that metric-driven lookups do real work."""
    state = sched.initial_state()
    for s in range(1, 41):
        state = sched.fold(state, Report(s, {"loss": 1.0 + (s % 7 == 0)}))
    return state


def _once(sched: Any, step: int, state: MetricState, repeat: int) -> float:
    at = np.array([step], dtype=np.int64)
    began = time.perf_counter()
    for _ in range(repeat):
        sched.evaluate(at, state)  # one step computed (values() would read its cached block)
    return (time.perf_counter() - began) / repeat * 1e6


def small_step(data: dict[str, Any]) -> int:
    """Step 10, or 10 steps into the last child of a SequentialLR: the comparison is of one
    child at a small step and at a huge one (its first child may be a cheaper type)."""
    if data["type"] == "SequentialLR":
        return max(data["milestones"]) + 10
    return 10


def per_value_us(
    sched: Any, state: MetricState, repeat: int, rounds: int, small_at: int = 10
) -> tuple[float, float]:
    """Median µs per one-step ``evaluate`` at ``small_at`` and at step 10^9, interleaved."""
    small, big = [], []
    for _ in range(rounds):
        small.append(_once(sched, small_at, state, repeat))
        big.append(_once(sched, BIG, state, repeat))
    return statistics.median(small), statistics.median(big)


def window_us(quick: bool) -> float:
    """Microseconds per value of a 4096-step window of 10 groups (OneCycleLR with momentum)."""
    spec = parse_spec({"type": "OneCycleLR", "max_lr": [0.1] * 10, "total_steps": 10**6})
    sched = build_schedule([Segment(0, spec)], [0.1] * 10, [0.9] * 10)
    state = sched.initial_state()
    samples = []
    for _ in range(3 if quick else 7):
        began = time.perf_counter()
        sched.window(10**5, 4096, state)
        samples.append((time.perf_counter() - began) / (4096 * 10) * 1e6)
    return statistics.median(samples)


ONE_CYCLE = {"type": "OneCycleLR", "max_lr": 0.4, "total_steps": 90_000}
OLD_WINDOW_MS = 7.4  # the same window through per-step closures (PERFORMANCE-NOTES.md)


def fresh_window_ms(quick: bool) -> float:
    """ms for a 4,096-step OneCycleLR window (lr + momentum, 1 group) of a fresh build."""
    samples = []
    for _ in range(5 if quick else 15):
        sched = build_schedule([Segment(0, parse_spec(ONE_CYCLE))], [0.1], [0.9])
        state = sched.initial_state()
        began = time.perf_counter()
        sched.window(20_000, 4096, state)
        samples.append((time.perf_counter() - began) * 1000)
    return statistics.median(samples)


def cold_value_us(quick: bool) -> float:
    """µs for one value nothing cached (values() evaluates its 64-step block)."""
    sched = build_schedule([Segment(0, parse_spec(ONE_CYCLE))], [0.1], [0.9])
    state = sched.initial_state()
    samples = []
    for i in range(200 if quick else 1000):
        began = time.perf_counter()
        sched.values(64 * (i + 1) + 5, state)  # a new block every time
        samples.append((time.perf_counter() - began) * 1e6)
    return statistics.median(samples)


REFOLD: dict[str, tuple[dict[str, Any], bool]] = {  # spec, whether the loss spikes to inf
    "ReduceLROnPlateau": ({"type": "ReduceLROnPlateau", "patience": 10}, False),
    "DivergenceGuard": ({"type": "DivergenceGuard", "lr_factor": 0.5, "schedule": COS}, True),
    "LRRangeTest": ({"type": "LRRangeTest", "num_steps": 100_000, "diverge_factor": 100.0}, False),
}


def _loss(step: int, spikes: bool) -> float:
    """Improves, stalls now and then (plateaus); with ``spikes``, inf every 20k reports."""
    if spikes and step % 20_000 == 10_000:
        return math.inf
    return 1.0 + (step % 97 == 0) * 0.5 + 1.0 / step


def refold_us(sched: Any, count: int, spikes: bool) -> float:
    """µs per report to fold and decide ``count`` reports one by one, as a resume does."""
    reports = [Report(s, {"loss": _loss(s, spikes)}) for s in range(1, count + 1)]
    state = sched.initial_state()
    began = time.process_time()  # CPU time: steadier than wall time on a shared machine
    for report in reports:
        new = sched.fold(state, report)
        sched.decision(state, new)
        state = new
    return (time.process_time() - began) / count * 1e6


def refold_rows(quick: bool) -> list[dict[str, Any]]:
    """One row per metric-driven type: µs per report folded, 100k reports vs 1k."""
    rows = []
    for name, (data, spikes) in REFOLD.items():
        sched = build_schedule([Segment(0, parse_spec(data))], [0.1])
        rounds = 3 if quick else 7
        small = statistics.median(refold_us(sched, 1000, spikes) for _ in range(rounds))
        big = refold_us(sched, 100_000, spikes)
        ratio = big / small
        rows.append(
            {
                "section": "engine",
                "metric": f"refold {name}: µs per report, 100k reports vs 1k",
                "ours": big,
                "peer": small,
                "ratio": ratio,
                "unit": "µs",
                "goal": "ratio <= 1.5, <= 10 µs",
                "ok": ratio <= 1.5 and big <= 10,
                "note": "fold + decision per report, as POST /resume refolds stored reports",
            }
        )
    return rows


def main(quick: bool = False) -> list[dict[str, Any]]:
    """One row per type: cost at step 10 (peer) and at step 10^9 (ours), ratio ~ 1."""
    repeat, rounds = (300, 5) if quick else (2000, 9)
    rows = []
    covered = {data["type"] for data in SPECS.values()}
    for name in type_names():
        if name not in covered:
            rows.append({"section": "engine", "metric": f"{name}: no bench example", "ours": None,
                         "peer": None, "ratio": None, "unit": "µs", "goal": "ratio <= 1.5",
                         "ok": None})  # fmt: skip
    for name, data in SPECS.items():
        try:
            sched = build_schedule([Segment(0, parse_spec(data))], [0.1], [0.9])
        except SpecError as exc:  # a type not (yet) registered
            rows.append({"section": "engine", "metric": f"{name}: refused", "ours": None,
                         "peer": None, "ratio": None, "unit": "µs", "goal": "ratio <= 1.5",
                         "ok": False, "note": exc.detail[:120]})  # fmt: skip
            continue
        state = _state(sched)
        sched.values(BIG, state)  # fill caches (the step-dependent product) before timing
        small_at = small_step(data)
        small, big = per_value_us(sched, state, repeat, rounds, small_at)
        ratio = big / small
        rows.append(
            {
                "section": "engine",
                "metric": f"{name}: µs per value at step 1e9 vs step {small_at}",
                "ours": big,
                "peer": small,
                "ratio": ratio,
                "unit": "µs",
                "goal": "ratio <= 1.5",
                "ok": ratio <= 1.5,
                "note": f"evaluate() of one step, median of {rounds} interleaved rounds of"
                f" {repeat} calls (values() of a cached block: ~0.2 µs)",
            }
        )
    rows.extend(refold_rows(quick))
    per = window_us(quick)
    rows.append(
        {
            "section": "engine",
            "metric": "window 4096 steps x 10 groups (lr + momentum): µs per value",
            "ours": per,
            "peer": None,
            "ratio": None,
            "unit": "µs",
            "goal": "<= 2",
            "ok": per <= 2,
            "note": "OneCycleLR, median of rounds",
        }
    )
    fresh = fresh_window_ms(quick)
    rows.append(
        {
            "section": "engine",
            "metric": "fresh OneCycleLR window, 4096 steps, lr + momentum: ms (peer: closures)",
            "ours": fresh,
            "peer": OLD_WINDOW_MS,
            "ratio": fresh / OLD_WINDOW_MS,
            "unit": "ms",
            "goal": "< 1 ms",
            "ok": fresh < 1.0,
            "note": "numpy array path on a fresh build; peer: main's closures (7.4 ms, quiet)",
        }
    )
    cold = cold_value_us(quick)
    rows.append(
        {
            "section": "engine",
            "metric": "OneCycleLR one value, nothing cached: µs (64-step block)",
            "ours": cold,
            "peer": None,
            "ratio": None,
            "unit": "µs",
            "goal": "info",
            "ok": None,
            "note": "values() evaluates the aligned 64-step block; the rows above read it warm",
        }
    )
    return rows


if __name__ == "__main__":
    results = main("--quick" in sys.argv)
    print(f"{'type':<46} {'step 10 µs':>11} {'step 1e9 µs':>12} {'ratio':>6}")
    for r in results:
        name = r["metric"].split(":")[0]
        peer = f"{r['peer']:.2f}" if r["peer"] is not None else "-"
        ours = f"{r['ours']:.2f}" if r["ours"] is not None else "-"
        ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "-"
        print(f"{name:<46} {peer:>11} {ours:>12} {ratio:>6}")
