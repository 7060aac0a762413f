"""How a run's values map onto an optimizer's parameter groups (no torch import).

Learning rates go to ``group["lr"]`` (a tensor learning rate is filled in place, as
torch's schedulers do); momentum goes to ``group["momentum"]`` (SGD, RMSprop) or
``group["betas"][0]`` (Adam, AdamW...). Windows stay in per-group columns, so a scheduler
step only looks values up and assigns them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lrhub.cursor import Block
from lrhub.errors import LrhubError
from lrhub.run_calls import RunCalls
from lrhub.types import Value, Window


class MomentumNotSupportedError(LrhubError, ValueError):
    """The run cycles momentum but the optimizer has no momentum to cycle."""


def is_tensor(value: Any) -> bool:
    """Whether ``value`` is a tensor (duck-typed: this module never imports torch)."""
    return hasattr(value, "fill_") and hasattr(value, "numel")


@dataclass
class OptimizerBinding:
    """Base values read from an optimizer and where a step's values go."""

    base_lrs: list[float]
    base_momentums: list[float] | None
    momentum_key: str | None  # "momentum", "betas" or None
    beta2s: list[Any] | None

    def block_of_value(self, value: Value, generation: int = 0) -> Block:
        """A block of the one step ``value`` holds."""
        moms = value.momentums if self.momentum_key is not None else None
        return Block(
            value.step,
            [[lr] for lr in value.lrs],
            None if moms is None else [[m] for m in moms],
            generation=generation,
        )

    def block(self, window: Window, generation: int = 0) -> Block:
        """The promised part of ``window`` (momentums only when there is somewhere to put
        them)."""
        count = window.promised_end - window.start
        moms = window.momentums if self.momentum_key is not None else None
        return Block(
            window.start,
            [_cut(col, count) for col in window.lrs],
            None if moms is None else [_cut(col, count) for col in moms],
            window.next_report,
            window.stop,
            generation,
        )

    def set_lrs(self, groups: list[dict[str, Any]], lrs: list[float]) -> None:
        """Set one learning rate per group (a tensor learning rate is filled in place)."""
        for group, lr in zip(groups, lrs, strict=True):
            if is_tensor(group["lr"]):
                group["lr"].fill_(lr)
            else:
                group["lr"] = lr

    def set_momentums(self, groups: list[dict[str, Any]], moms: list[float]) -> None:
        """Set one momentum per group where the optimizer keeps it (nowhere when the run
        does not cycle momentum)."""
        if self.momentum_key is not None:
            for g, (group, m) in enumerate(zip(groups, moms, strict=True)):
                group[self.momentum_key] = self.momentum_value(g, m)

    def momentum_value(self, group_index: int, momentum: float) -> Any:
        """What goes to ``group[momentum_key]`` for a momentum value."""
        if self.momentum_key == "betas":
            assert self.beta2s is not None
            return (momentum, self.beta2s[group_index])
        return momentum


def current_lrs(groups: list[dict[str, Any]]) -> list[float]:
    """The groups' learning rates as they are now, as floats."""
    return [float(group["lr"]) for group in groups]


def _cut(column: list[float], count: int) -> list[float]:
    return column if len(column) == count else column[:count]


def _base_lr(group: dict[str, Any]) -> float:
    """``initial_lr`` as torch sets it (a tensor is cloned, never aliased), as a float."""
    if "initial_lr" not in group:
        lr = group["lr"]
        group["initial_lr"] = lr.clone() if is_tensor(lr) else lr
    return float(group["initial_lr"])


def bind_optimizer(optimizer: Any, run: RunCalls) -> OptimizerBinding:
    """Read base LRs (``initial_lr``, as torch does) and momentums from ``optimizer``;
    refuse when ``run`` cycles momentum and the optimizer has none to cycle."""
    groups = optimizer.param_groups
    if not groups:
        raise ValueError("the optimizer has no parameter groups")
    base_lrs = [_base_lr(group) for group in groups]
    key: str | None = None
    if all("betas" in g for g in groups):
        key = "betas"
    elif all("momentum" in g for g in groups):
        key = "momentum"
    base_momentums = None
    beta2s = None
    if key == "betas":
        base_momentums = [float(g["betas"][0]) for g in groups]
        beta2s = [g["betas"][1] for g in groups]
    elif key == "momentum":
        base_momentums = [float(g["momentum"]) for g in groups]
    if run.info.has_momentum:
        name = type(optimizer).__name__
        if key is None:
            raise MomentumNotSupportedError(
                f"run {run.name!r} cycles momentum but {name} has no 'momentum' or 'betas' "
                "to cycle. Use SGD(momentum>0), Adam or AdamW, or set cycle_momentum=False "
                "in the schedule."
            )
        if key == "momentum" and any(m == 0 for m in base_momentums or []):
            raise MomentumNotSupportedError(
                f"run {run.name!r} cycles momentum but {name} was created with momentum=0, "
                "so cycling it would silently turn momentum on. Create the optimizer with "
                "momentum>0 (e.g. 0.9), or set cycle_momentum=False in the schedule."
            )
    else:
        key = None  # nothing to write
    return OptimizerBinding(base_lrs, base_momentums, key, beta2s)
