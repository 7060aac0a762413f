"""``lrhub.spec_from(obj)``: the lrhub spec of a scheduler you already have.

Reads the object, never evaluates a schedule (the server validates and evaluates the spec):
a torch scheduler instance (by its class name and the constructor arguments read off it;
SequentialLR and ChainedScheduler nest), a transformers ``TrainingArguments``, a
transformers ``GreedyLR``, or a timm scheduler instance. Nothing here imports torch,
transformers or timm.
"""

from __future__ import annotations

import enum
import json
import math
from typing import Any

from lrhub._convert_readers import (
    SKIPPED,
    lambda_spec,
    read_argument,
    signature_names,
    timm_arguments,
)


class ConvertedSpec(dict):  # type: ignore[type-arg]
    """A spec (a plain dict to send as ``schedule=``) that also says where to resume:
    ``resume_step`` is the step the object has reached (None when it cannot tell, as for
    timm's stateless schedulers, which are told their step each call)."""

    resume_step: int | None = None


def spec_from(
    obj: Any, *, expression: str | None = None, steps_per_epoch: int | None = None
) -> ConvertedSpec:
    """The lrhub spec of ``obj`` (see the module docstring). ``expression`` stands for a
    LambdaLR's function that is not one of transformers' named schedules;
    ``steps_per_epoch`` turns a ``TrainingArguments``' epochs into optimizer steps."""
    kind = type(obj)
    if kind.__name__ == "TrainingArguments" or hasattr(obj, "lr_scheduler_type"):
        spec = ConvertedSpec(training_arguments_spec(obj, steps_per_epoch))
        return spec
    module = kind.__module__
    if module.startswith("timm.scheduler"):
        spec = ConvertedSpec({"type": "timm", "scheduler": kind.__name__, **timm_arguments(obj)})
        spec["base_lr"] = _per_group(list(obj.base_values))
        return spec
    if kind.__name__ == "GreedyLR" and module.startswith("transformers"):
        spec = ConvertedSpec(_greedy(obj))
        spec.resume_step = int(obj.last_epoch)
        return spec
    spec = ConvertedSpec(_torch_spec(obj, expression))
    bases = getattr(obj, "base_lrs", None)
    if bases is None and hasattr(obj, "optimizer"):  # ReduceLROnPlateau has no base_lrs
        groups = obj.optimizer.param_groups
        bases = [g.get("initial_lr", g["lr"]) for g in groups]
    if bases is not None and spec["type"] not in ("OneCycleLR", "CyclicLR"):
        spec["base_lr"] = _per_group([float(b) for b in bases])  # torch's initial_lr
    last = getattr(obj, "last_epoch", None)
    if last is None and getattr(obj, "_schedulers", None):  # ChainedScheduler: its children's
        last = getattr(obj._schedulers[0], "last_epoch", None)
    spec.resume_step = int(last) if isinstance(last, int) and last >= 0 else None
    return spec


def _per_group(values: list[float]) -> float | list[float]:
    return values[0] if all(v == values[0] for v in values) else values


def _torch_spec(obj: Any, expression: str | None) -> dict[str, Any]:
    name = type(obj).__name__
    if name in ("LambdaLR", "MultiplicativeLR"):
        return lambda_spec(obj, name, expression)
    if name in ("SequentialLR", "ChainedScheduler"):
        children = [_torch_spec(child, None) for child in obj._schedulers]
        spec: dict[str, Any] = {"type": name, "schedulers": children}
        if name == "SequentialLR":
            spec["milestones"] = list(obj._milestones)
        return spec
    spec = {"type": name}
    for arg in signature_names(type(obj)):
        if arg in SKIPPED:
            continue
        value = read_argument(obj, name, arg)
        if value is not None:
            spec[arg] = value
    if name == "CosineAnnealingLR":
        spec["periodic"] = True  # torch's object keeps its cosine going after T_max
    return spec


def training_arguments_spec(args: Any, steps_per_epoch: int | None = None) -> dict[str, Any]:
    """A transformers ``TrainingArguments``' schedule: ``lr_scheduler_type``, its kwargs,
    warm-up (steps, or a fraction below 1) and ``max_steps`` or epochs x ``steps_per_epoch``."""
    name = args.lr_scheduler_type
    name = name.value if isinstance(name, enum.Enum) else str(name)
    kwargs = args.lr_scheduler_kwargs or {}
    if isinstance(kwargs, str):
        kwargs = json.loads(kwargs)
    if args.max_steps is not None and args.max_steps > 0:
        total = int(args.max_steps)
    elif steps_per_epoch is not None:
        total = math.ceil(args.num_train_epochs * steps_per_epoch)
    else:
        raise ValueError("steps_per_epoch: needed when TrainingArguments has no max_steps")
    warmup = args.warmup_steps
    warm = int(warmup) if warmup >= 1 else math.ceil(total * warmup)
    spec: dict[str, Any] = {"type": "transformers", "name": name, "num_warmup_steps": warm,
                            "num_training_steps": total}  # fmt: skip
    if kwargs:
        spec["scheduler_specific_kwargs"] = dict(kwargs)
    return spec


def _greedy(obj: Any) -> dict[str, Any]:
    names = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "warmup",
             "eps", "smooth", "window_size")  # fmt: skip
    kwargs = {n: getattr(obj, n) for n in names}
    kwargs["min_lr"] = _per_group(list(obj.min_lrs))
    kwargs["max_lr"] = _per_group(list(obj.max_lrs))
    kwargs["reset_start"] = obj.reset_start_original
    return {"type": "transformers", "name": "greedy", "scheduler_specific_kwargs": kwargs,
            "base_lr": _per_group(list(obj._init_lrs))}  # fmt: skip
