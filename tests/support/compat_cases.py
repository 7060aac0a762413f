"""The compat grid: every transformers name and timm class over warm-up, cycle, clock,
metric and noise settings. Each case is a spec, base lrs, a length and (for metric-driven
ones) a metric per step."""

from __future__ import annotations

import math
import random
from typing import Any

Case = dict[str, Any]
W, T = 7, 60  # warm-up and training steps of the transformers cases


def metric_series(
    seed: int, steps: int, *, rising: bool = False, every: int = 1
) -> list[float | None]:
    """A loss that improves in bursts and plateaus, evaluated every ``every`` steps (None
    where nothing is reported, step 0 included)."""
    rng, value, out = random.Random(seed), 2.0, [None]
    for s in range(1, steps):
        if s % 13 < 5:
            value *= 0.93
        noisy = value + rng.uniform(-0.004, 0.004)
        out.append((-noisy if rising else noisy) if s % every == 0 else None)
    return out


def _hf(name: str, warm: int | None, total: int | None, **kwargs: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "transformers", "name": name}
    if warm is not None:
        spec["num_warmup_steps"] = warm
    if total is not None:
        spec["num_training_steps"] = total
    if kwargs:
        spec["scheduler_specific_kwargs"] = kwargs
    return spec


def transformers_cases() -> list[Case]:
    out: list[Case] = []
    for warm in (0, W):
        out += [
            _hf("linear", warm, T), _hf("cosine", warm, T), _hf("cosine", warm, T, num_cycles=1.5),
            _hf("cosine_with_restarts", warm, T, num_cycles=3),
            _hf("polynomial", warm, T, lr_end=1e-4, power=2.0), _hf("polynomial", warm, T),
            _hf("constant", None, None), _hf("constant_with_warmup", warm, None),
            _hf("inverse_sqrt", warm, None), _hf("inverse_sqrt", warm, None, timescale=5),
            _hf("cosine_with_min_lr", warm, T, min_lr_rate=0.1),
            _hf("cosine_with_min_lr", warm, T, min_lr=0.002, num_cycles=0.7),
            _hf("cosine_warmup_with_min_lr", warm, T, min_lr_rate=0.05),
            _hf("cosine_warmup_with_min_lr", warm, T, min_lr_rate=0.05, warmup_lr_rate=0.2),
            _hf("warmup_stable_decay", warm, T, num_decay_steps=20),
            _hf("warmup_stable_decay", warm, None, num_decay_steps=15, num_stable_steps=20,
                warmup_type="1-sqrt", decay_type="1-sqrt", min_lr_ratio=0.1),
            _hf("warmup_stable_decay", warm, T, num_decay_steps=25, warmup_type="cosine",
                decay_type="cosine", num_cycles=0.75, min_lr_ratio=0.05),
            _hf("warmup_stable_decay", warm, T, num_decay_steps=10, decay_type="linear"),
        ]  # fmt: skip
    out += [_hf("cosine_warmup_with_min_lr", 1, T, min_lr_rate=0.1, warmup_lr_rate=0.3),
            _hf("linear", 10, 8), _hf("polynomial", 10, 8, lr_end=1e-3)]  # fmt: skip
    cases = [{"spec": s, "steps": T + 15, "base_lrs": [0.01, 0.004]} for s in out]
    metric_driven = [
        _hf("reduce_lr_on_plateau", None, None),
        _hf("reduce_lr_on_plateau", None, None, patience=2, factor=0.5, cooldown=1),
        _hf("reduce_lr_on_plateau", None, None, mode="max", patience=1, threshold_mode="abs",
            threshold=0.01, min_lr=0.004),
        _hf("greedy", None, None, patience=2, min_lr=1e-4, max_lr=0.05),
        _hf("greedy", None, None, patience=1, factor=0.8, cooldown=2, warmup=1, min_lr=0.005,
            reset_start=3),
        _hf("greedy", None, None, patience=2, smooth=True, window_size=4, threshold_mode="rel",
            threshold=0.001, min_lr=1e-4),
        _hf("greedy", None, None, mode="max", patience=1, min_lr=[1e-4, 1e-3]),
    ]  # fmt: skip
    for i, spec in enumerate(metric_driven):
        rising = spec.get("scheduler_specific_kwargs", {}).get("mode") == "max"
        cases.append({"spec": spec, "steps": 90, "base_lrs": [0.01, 0.004],
                      "metrics": metric_series(i, 90, rising=rising, every=3)})  # fmt: skip
    return cases


def _tm(scheduler: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": "timm", "scheduler": scheduler, **kwargs}


def timm_cases() -> list[Case]:
    out: list[dict[str, Any]] = []
    warms = (
        {},
        {"warmup_t": 3, "warmup_lr_init": 1e-4},
        {"warmup_t": 3, "warmup_lr_init": 1e-4, "warmup_prefix": True},
    )
    cycles = (
        {},
        {"cycle_mul": 2.0, "cycle_limit": 4, "cycle_decay": 0.5},
        {"cycle_mul": 1.5, "cycle_limit": 5, "lr_min": 1e-5},
        {"cycle_limit": 3, "cycle_decay": 0.8, "k_decay": 1.5},
    )
    for cls in ("CosineLRScheduler", "TanhLRScheduler", "PolyLRScheduler"):
        for warm in warms:
            for cyc in cycles:
                extra = dict(cyc)
                if cls == "TanhLRScheduler":
                    extra.pop("k_decay", None)
                out.append(_tm(cls, t_initial=10, **warm, **extra))
    out += [_tm("PolyLRScheduler", t_initial=12, power=2.0, lr_min=1e-4, k_decay=0.7),
            _tm("TanhLRScheduler", t_initial=9, lb=-5.0, ub=4.0, lr_min=1e-4),
            _tm("CosineLRScheduler", t_initial=7.5, cycle_limit=6),
            _tm("CosineLRScheduler", t_initial=10, cycle_mul=0.9, cycle_limit=3)]  # fmt: skip
    for warm in warms:
        out += [_tm("StepLRScheduler", decay_t=4, decay_rate=0.5, **warm),
                _tm("StepLRScheduler", decay_t=2.5, decay_rate=0.7, **warm),
                _tm("MultiStepLRScheduler", decay_t=[0, 5, 9, 9, 20], decay_rate=0.5, **warm),
                _tm("WSDLRScheduler", t_initial=30, decay_t=10, lr_min=1e-4,
                    warmup_t=warm.get("warmup_t", 0),
                    warmup_lr_init=warm.get("warmup_lr_init", 0.0))]  # fmt: skip
    out += [_tm("WSDLRScheduler", t_initial=30, decay_t=12, decay_fn=fn, **more)
            for fn, more in (("linear", {}), ("cosine", {}), ("power", {"decay_power": 2.0}),
                             ("exp", {"decay_ratio": 0.05}))]  # fmt: skip
    out += [_tm("WSDLRScheduler", t_initial=30, decay_t=10, stable_fn="rsqrt", warmup_t=4),
            _tm("WSDLRScheduler", t_initial=30, decay_t=8, stable_fn="power", stable_power=0.3,
                stable_timescale=6.0, lr_min=1e-3)]  # fmt: skip
    noisy = [
        _tm("CosineLRScheduler", t_initial=20, noise_range_t=5, noise_pct=0.3, noise_std=0.5),
        _tm("CosineLRScheduler", t_initial=20, noise_range_t=[0, 12], noise_seed=7),
        _tm("StepLRScheduler", decay_t=5, decay_rate=0.5, noise_range_t=[2, 30], noise_pct=0.05),
        _tm("PolyLRScheduler", t_initial=15, warmup_t=3, noise_range_t=2, noise_std=2.0),
        _tm("WSDLRScheduler", t_initial=30, decay_t=10, noise_range_t=1),
    ]  # fmt: skip
    out += noisy
    cases = [{"spec": s, "steps": 45, "base_lrs": [0.01, 0.004]} for s in out]
    # per update: t_in_epochs false (with and without updates_per_epoch), and epochs held
    clocks = [
        _tm("CosineLRScheduler", t_initial=4, warmup_t=1, t_in_epochs=False, updates_per_epoch=6,
            noise_range_t=[1, 3]),
        _tm("CosineLRScheduler", t_initial=30, warmup_t=5, t_in_epochs=False),
        _tm("CosineLRScheduler", t_initial=4, warmup_t=1, updates_per_epoch=6),
        _tm("StepLRScheduler", decay_t=2, decay_rate=0.5, t_in_epochs=False, updates_per_epoch=5),
        _tm("MultiStepLRScheduler", decay_t=[2, 4], decay_rate=0.5, t_in_epochs=False,
            updates_per_epoch=5, warmup_t=1),
        _tm("WSDLRScheduler", t_initial=6, decay_t=2, t_in_epochs=False, updates_per_epoch=5,
            warmup_t=1, stable_fn="rsqrt"),
        _tm("TanhLRScheduler", t_initial=3, t_in_epochs=False, updates_per_epoch=8, cycle_limit=2),
    ]  # fmt: skip
    cases += [{"spec": s, "steps": 50, "base_lrs": [0.01, 0.004]} for s in clocks]
    plateaus = [
        _tm("PlateauLRScheduler", patience_t=2, mode="min"),
        _tm("PlateauLRScheduler", patience_t=1, decay_rate=0.5, warmup_t=3, warmup_lr_init=1e-4,
            cooldown_t=2, lr_min=1e-3, mode="min"),
        _tm("PlateauLRScheduler", patience_t=2, threshold=0.01, mode="min"),
        _tm("PlateauLRScheduler", patience_t=2, mode="min", noise_range_t=5, noise_type="uniform",
            noise_pct=0.2, warmup_t=2),
    ]  # fmt: skip
    for i, spec in enumerate(plateaus):
        rising = spec.get("mode", "max") == "max"
        cases.append({"spec": spec, "steps": 60, "base_lrs": [0.01, 0.004],
                      "metrics": metric_series(100 + i, 60, rising=rising)})  # fmt: skip
    per_epoch = _tm("PlateauLRScheduler", patience_t=1, mode="min", warmup_t=2,
                    warmup_lr_init=1e-3, updates_per_epoch=4)  # fmt: skip
    cases.append({"spec": per_epoch, "steps": 64, "base_lrs": [0.01, 0.004],
                  "metrics": metric_series(120, 64, every=4, rising=True)})  # fmt: skip
    return cases


def all_cases() -> list[Case]:
    """Every case, each with a readable id."""
    cases = transformers_cases() + timm_cases()
    for i, case in enumerate(cases):
        spec = case["spec"]
        label = spec.get("name") or spec.get("scheduler")
        case["id"] = f"{i:03d}-{label}"
    assert all(math.isfinite(b) for c in cases for b in c["base_lrs"])
    return cases
