"""Reading a scheduler object's constructor arguments back off the instance."""

from __future__ import annotations

import functools
import inspect
from collections import Counter
from typing import Any

SKIPPED = ("self", "optimizer", "last_epoch", "verbose", "initialize")

# transformers' named schedule functions (partials of them are LambdaLR's lr_lambda)
_TRANSFORMERS = {
    "_get_constant_lambda": "constant",
    "_get_constant_schedule_with_warmup_lr_lambda": "constant_with_warmup",
    "_get_linear_schedule_with_warmup_lr_lambda": "linear",
    "_get_cosine_schedule_with_warmup_lr_lambda": "cosine",
    "_get_cosine_with_hard_restarts_schedule_with_warmup_lr_lambda": "cosine_with_restarts",
    "_get_polynomial_decay_schedule_with_warmup_lr_lambda": "polynomial",
    "_get_inverse_sqrt_schedule_lr_lambda": "inverse_sqrt",
    "_get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda": "cosine_warmup_with_min_lr",
    "_get_wsd_scheduler_lambda": "warmup_stable_decay",
}
_TOP = ("num_warmup_steps", "num_training_steps")


def signature_names(cls: type) -> list[str]:
    """The constructor's argument names."""
    return list(inspect.signature(cls.__init__).parameters)


def _plain(value: Any) -> Any:
    if isinstance(value, Counter):
        return sorted(value.elements())
    if isinstance(value, (list, tuple)):
        items = [_plain(v) for v in value]
        return items[0] if items and all(v == items[0] for v in items) else items
    if callable(value):
        raise ValueError(f"a callable ({value!r}) has no spec; give the spec by hand")
    return value


def read_argument(obj: Any, cls_name: str, arg: str) -> Any:
    """One constructor argument from the instance: its attribute, ``_arg`` or a per-group
    ``args`` list; CyclicLR and OneCycleLR keep some as derived values."""
    derived = _DERIVED.get(cls_name)
    if derived is not None and arg in derived:
        return derived[arg](obj)
    for name in (arg, f"_{arg}", f"{arg}s"):
        if hasattr(obj, name):
            return _plain(getattr(obj, name))
    raise ValueError(f"{cls_name}.{arg}: cannot be read off the instance; give the spec by hand")


def _group(obj: Any, key: str) -> Any:
    return _plain([g[key] for g in obj.optimizer.param_groups])


def _momentum_key(obj: Any) -> str:
    return "betas" if getattr(obj, "use_beta1", False) else "momentum"


_DERIVED: dict[str, dict[str, Any]] = {
    "CyclicLR": {
        "step_size_up": lambda o: round(o.total_size * o.step_ratio),
        "step_size_down": lambda o: round(o.total_size - o.total_size * o.step_ratio),
        "scale_fn": lambda o: _plain(o._scale_fn_custom) if o._scale_fn_custom else None,
        "base_lr": lambda o: _plain(list(o.base_lrs)),
        "max_lr": lambda o: _plain(list(o.max_lrs)),
        "base_momentum": lambda o: _plain(list(o.base_momentums)) if o.cycle_momentum else None,
        "max_momentum": lambda o: _plain(list(o.max_momentums)) if o.cycle_momentum else None,
    },
    "OneCycleLR": {
        "max_lr": lambda o: _group(o, "max_lr"),
        "epochs": lambda o: None,
        "steps_per_epoch": lambda o: None,
        "pct_start": lambda o: (o._schedule_phases[0]["end_step"] + 1) / o.total_steps,
        "anneal_strategy": lambda o: o._anneal_func_type,
        "div_factor": lambda o: (
            _group(o, "max_lr") / _group(o, "initial_lr")
            if not isinstance(_group(o, "max_lr"), list)
            else o.optimizer.param_groups[0]["max_lr"] / o.optimizer.param_groups[0]["initial_lr"]
        ),
        "final_div_factor": lambda o: (
            o.optimizer.param_groups[0]["initial_lr"] / o.optimizer.param_groups[0]["min_lr"]
        ),
        "three_phase": lambda o: len(o._schedule_phases) == 3,
        "base_momentum": lambda o: _group(o, "base_momentum") if o.cycle_momentum else None,
        "max_momentum": lambda o: _group(o, "max_momentum") if o.cycle_momentum else None,
    },
}


def lambda_spec(obj: Any, cls_name: str, expression: str | None) -> dict[str, Any]:
    """A LambdaLR of a transformers named schedule as that schedule; any other function
    only with ``expression`` (an lrhub expression of ``epoch``)."""
    functions = list(obj.lr_lambdas)
    first = functions[0]
    if cls_name == "LambdaLR" and all(f == first or _same_partial(f, first) for f in functions):
        found = _transformers_schedule(first)
        if found is not None:
            return found
    if expression is None:
        raise ValueError(
            f"{cls_name}: its function cannot be read as a spec; pass expression='...'"
            " (an lrhub expression of epoch, e.g. '0.95 ** epoch')"
        )
    return {"type": cls_name, "lr_lambda": expression}


def _same_partial(a: Any, b: Any) -> bool:
    return (
        isinstance(a, functools.partial)
        and isinstance(b, functools.partial)
        and a.func is b.func
        and a.keywords == b.keywords
    )


def _transformers_schedule(fn: Any) -> dict[str, Any] | None:
    func = fn.func if isinstance(fn, functools.partial) else fn
    if not getattr(func, "__module__", "").startswith("transformers.optimization"):
        return None
    name = _TRANSFORMERS.get(getattr(func, "__name__", ""))
    if name is None:
        return None
    keywords = dict(fn.keywords) if isinstance(fn, functools.partial) else {}
    if name == "cosine" and keywords.get("min_lr_rate"):
        name = "cosine_with_min_lr"
    spec: dict[str, Any] = {"type": "transformers", "name": name}
    spec.update({k: keywords.pop(k) for k in _TOP if k in keywords})
    keywords.pop("lr_init", None)  # polynomial: the optimizer's lr, the base lr here
    if name == "cosine" and keywords.get("min_lr_rate") == 0.0:
        keywords.pop("min_lr_rate")
    if name == "cosine_warmup_with_min_lr" and keywords.get("warmup_lr_rate") is None:
        keywords.pop("warmup_lr_rate", None)
    if keywords:
        spec["scheduler_specific_kwargs"] = keywords
    return spec


def timm_arguments(obj: Any) -> dict[str, Any]:
    """A timm scheduler's constructor arguments, read off the instance."""
    found: dict[str, Any] = {}
    plateau = getattr(obj, "lr_scheduler", None)
    aliases = {"decay_rate": "factor", "patience_t": "patience", "cooldown_t": "cooldown",
               "lr_min": "min_lrs", "threshold": "threshold", "mode": "mode"}  # fmt: skip
    for arg in signature_names(type(obj)):
        if arg in SKIPPED:
            continue
        if plateau is not None and arg in aliases:
            found[arg] = _plain(getattr(plateau, aliases[arg]))
        elif hasattr(obj, arg):
            found[arg] = _plain(getattr(obj, arg))
    if (
        isinstance(found.get("decay_t"), (int, float))
        and type(obj).__name__ == "MultiStepLRScheduler"
    ):
        found["decay_t"] = [found["decay_t"]]
    return {k: v for k, v in found.items() if v is not None}
