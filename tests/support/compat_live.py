"""Reference values from the live libraries (transformers, timm), run with a torch optimizer.

timm is imported without its package ``__init__`` (which needs torchvision): only
``timm.scheduler`` is loaded, which needs only torch.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import sys
import types
import warnings
from typing import Any

import torch


def timm_scheduler_module() -> Any:
    """``timm.scheduler`` without importing ``timm/__init__.py`` (and torchvision)."""
    if "timm.scheduler" in sys.modules:
        return sys.modules["timm.scheduler"]
    found = importlib.util.find_spec("timm")
    if found is None or not found.submodule_search_locations:
        raise ImportError("timm is not installed")
    if "timm" not in sys.modules:
        package = types.ModuleType("timm")
        package.__path__ = list(found.submodule_search_locations)
        sys.modules["timm"] = package
    return importlib.import_module("timm.scheduler")


def optimizer(base_lrs: list[float]) -> torch.optim.Optimizer:
    """An SGD optimizer with one parameter group per base lr (``defaults['lr']`` = the first)."""
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in base_lrs]
    return torch.optim.SGD(groups, lr=base_lrs[0])


def _lrs(opt: torch.optim.Optimizer) -> list[float]:
    return [float(g["lr"]) for g in opt.param_groups]


def transformers_values(case: dict[str, Any]) -> list[list[float]]:
    """transformers' ``get_scheduler`` lrs per step (rows: steps)."""
    from transformers import get_scheduler

    spec, opt = case["spec"], optimizer(case["base_lrs"])
    sched = get_scheduler(
        spec["name"], opt, num_warmup_steps=spec.get("num_warmup_steps"),
        num_training_steps=spec.get("num_training_steps"),
        scheduler_specific_kwargs=dict(spec.get("scheduler_specific_kwargs", {})),
    )  # fmt: skip
    metrics, rows = case.get("metrics"), [_lrs(opt)]
    for step in range(1, case["steps"]):
        if metrics is None:
            sched.step()
        elif metrics[step] is not None:  # as the Trainer steps them: at each evaluation
            sched.step(metrics[step])
        rows.append(_lrs(opt))
    return rows


def timm_values(case: dict[str, Any]) -> list[list[float]]:
    """timm's lrs per step: the constructor's at step 0, then ``step(t)`` or
    ``step_update(t)``; with ``updates_per_epoch`` as ``create_scheduler_v2`` and timm's
    train loop drive it."""
    module = timm_scheduler_module()
    spec = dict(case["spec"])
    cls = getattr(module, spec.pop("scheduler"))
    spec.pop("type")
    per = spec.pop("updates_per_epoch", None)
    on_epochs = spec.get("t_in_epochs", True)
    if per and not on_epochs:  # create_scheduler_v2's rescaling to updates
        for name in ("t_initial", "warmup_t", "decay_t", "stable_timescale", "noise_range_t"):
            if isinstance(spec.get(name), list):
                spec[name] = [v * per for v in spec[name]]
            elif spec.get(name) is not None:
                spec[name] = spec[name] * per
    opt = optimizer(case["base_lrs"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        sched = cls(opt, **spec)
    metrics, rows = case.get("metrics"), [_lrs(opt)]
    for step in range(1, case["steps"]):
        metric = None if metrics is None else metrics[step]
        if per and on_epochs:  # timm's train loop: step(epoch) at each epoch's end
            if step % per == 0:
                sched.step(step // per, metric)
        elif on_epochs:
            sched.step(step, metric)
        else:
            sched.step_update(step, metric)
        rows.append(_lrs(opt))
    return rows


def library_values(case: dict[str, Any]) -> list[list[float]]:
    """The live library's lrs for a case (rows: steps, columns: groups)."""
    if case["spec"]["type"] == "transformers":
        return transformers_values(case)
    return timm_values(case)


def library_versions() -> dict[str, str]:
    """The installed versions of the libraries the reference values come from."""
    return {name: importlib.metadata.version(name) for name in ("transformers", "timm", "torch")}


FORMS_REPRODUCE = {"transformers": "5.23.", "timm": "1.0.31"}  # the forms' library_version
LIVE_MISSING = "transformers 5.23 and timm 1.0.31 (what the forms reproduce) are not both installed"


def libraries_installed() -> bool:
    """Whether transformers and timm (its scheduler package) can be imported, in the
    versions the compat forms reproduce (a later release may change its values)."""
    try:
        import transformers  # noqa: F401

        timm_scheduler_module()
    except ImportError:
        return False
    versions = library_versions()
    return all(versions[name].startswith(v) for name, v in FORMS_REPRODUCE.items())
