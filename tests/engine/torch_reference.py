"""torch 2.13's own numbers for a spec: build the real scheduler and step it."""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch

from lrhub_service.engine.expr import compile_expression

DROP = {"type", "base_lr", "periodic", "metric"}


def make_optimizer(
    base_lrs: list[float], kind: str = "sgd", momentum: float = 0.9
) -> torch.optim.Optimizer:
    """An optimizer with one tiny parameter per group."""
    groups = [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in base_lrs]
    if kind == "adam":
        return torch.optim.Adam(groups, betas=(0.9, 0.999))
    return torch.optim.SGD(groups, momentum=momentum)


def _callable(value: Any, name: str) -> Any:
    if isinstance(value, list):
        return [compile_expression(v, loc=name) for v in value]
    return compile_expression(value, loc=name)


def make_scheduler(spec: dict[str, Any], opt: torch.optim.Optimizer) -> Any:
    """The torch scheduler a spec describes (expression strings become callables)."""
    kind = spec["type"]
    kwargs = {k: v for k, v in spec.items() if k not in DROP}
    if kind == "CyclicLR":  # our base_lr defaults to the optimizer's, torch requires it
        kwargs["base_lr"] = spec.get("base_lr", [g["lr"] for g in opt.param_groups])
    for name in ("lr_lambda", "scale_fn"):
        if kwargs.get(name) is not None:
            kwargs[name] = _callable(kwargs[name], name)
    if "pct_start" in kwargs:
        kwargs["pct_start"] = float(kwargs["pct_start"])
    cls = getattr(torch.optim.lr_scheduler, kind)
    if kind == "SequentialLR":
        kids = [make_scheduler(s, opt) for s in spec["schedulers"]]
        return cls(opt, kids, milestones=spec["milestones"])
    if kind == "ChainedScheduler":
        return cls([make_scheduler(s, opt) for s in spec["schedulers"]], optimizer=opt)
    return cls(opt, **kwargs)


def momentum_of(group: dict[str, Any]) -> float:
    return float(group["betas"][0]) if "betas" in group else float(group["momentum"])


def torch_values(
    spec: dict[str, Any],
    base_lrs: list[float],
    steps: int,
    *,
    kind: str = "sgd",
    momentum: float = 0.9,
    metrics: list[float] | None = None,
) -> tuple[list[list[float]], list[list[float]]]:
    """Per-group columns of lr and momentum for steps 0..steps-1, as torch computes them.

    With ``metrics``, ``step(metrics[s])`` moves to step ``s`` (``metrics[0]`` is unused).
    """
    opt = make_optimizer(base_lrs, kind, momentum)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched = make_scheduler(spec, opt)
        lrs = [[float(g["lr"])] for g in opt.param_groups]
        moms = [[momentum_of(g)] for g in opt.param_groups]
        for s in range(1, steps):
            opt.step()
            if metrics is not None:
                sched.step(metrics[s])
            else:
                sched.step()
            for g, group in enumerate(opt.param_groups):
                lrs[g].append(float(group["lr"]))
                moms[g].append(momentum_of(group))
    return lrs, moms


def assert_close(ours: list[list[float]], theirs: list[list[float]], what: str = "lr") -> None:
    """Step by step to 1e-9 relative (and a tiny absolute tolerance near 0)."""
    assert len(ours) == len(theirs)
    for g, (mine, ref) in enumerate(zip(ours, theirs, strict=True)):
        assert len(mine) == len(ref)
        for k, (a, b) in enumerate(zip(mine, ref, strict=True)):
            assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15), (
                f"{what} group {g} step {k}: ours {a!r} torch {b!r}"
            )
