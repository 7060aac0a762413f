"""How a run's values map onto an optimizer's parameter groups (no torch import).

Learning rates go to ``group["lr"]``; momentum goes to ``group["momentum"]`` (SGD,
RMSprop) or ``group["betas"][0]`` (Adam, AdamW...). Values are converted once per window
into per-step tuples, so a scheduler step only assigns them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lrhub.errors import LrhubError
from lrhub.feed import Chunk, Entry
from lrhub.run import Run
from lrhub.types import Value, Window


class MomentumNotSupportedError(LrhubError, ValueError):
    """The run cycles momentum but the optimizer has no momentum to cycle."""


@dataclass
class OptimizerBinding:
    """Base values read from an optimizer and the way to write a step's values."""

    base_lrs: list[float]
    base_momentums: list[float] | None
    momentum_key: str | None  # "momentum", "betas" or None
    beta2s: list[float] | None

    def entry(self, value: Value) -> Entry:
        """One step's values, ready to assign."""
        if self.momentum_key is None or value.momentums is None:
            return value.lrs, None
        return value.lrs, self._momentum_values(value.momentums)

    def _momentum_values(self, momentums: list[float] | tuple[float, ...]) -> tuple[Any, ...]:
        if self.momentum_key == "betas":
            assert self.beta2s is not None
            return tuple((m, b2) for m, b2 in zip(momentums, self.beta2s, strict=False))
        return tuple(momentums)

    def chunk(self, window: Window) -> Chunk:
        """Convert a window (columns per group) into per-step entries."""
        lr_rows = [list(row) for row in zip(*window.lrs, strict=False)] if window.count else []
        if self.momentum_key is None or not window.momentums or not window.count:
            entries: list[Entry] = [(row, None) for row in lr_rows]
        else:
            moms = [self._momentum_values(row) for row in zip(*window.momentums, strict=False)]
            entries = list(zip(lr_rows, moms, strict=False))
        return Chunk(window.start, entries, window.next_report, window.stop, window.revision)

    def read_momentum(self, group: dict[str, Any]) -> float:
        if self.momentum_key == "betas":
            return float(group["betas"][0])
        return float(group["momentum"])


def _plain_float(value: Any, what: str) -> float:
    if hasattr(value, "numel"):  # a tensor LR (capturable/fused optimizers)
        raise TypeError(
            f"{what} is a tensor; lrhub sets plain float learning rates. Create the "
            "optimizer with a float lr (and without capturable tensor LRs)."
        )
    return float(value)


def bind_optimizer(optimizer: Any, run: Run) -> OptimizerBinding:
    """Read base LRs (``initial_lr``, as torch does) and momentums from ``optimizer``;
    refuse when ``run`` cycles momentum and the optimizer has none to cycle."""
    groups = optimizer.param_groups
    if not groups:
        raise ValueError("the optimizer has no parameter groups")
    base_lrs = []
    for i, group in enumerate(groups):
        group.setdefault("initial_lr", group["lr"])
        base_lrs.append(_plain_float(group["initial_lr"], f"param_groups[{i}]['lr']"))
    key: str | None = None
    if all("betas" in g for g in groups):
        key = "betas"
    elif all("momentum" in g for g in groups):
        key = "momentum"
    base_momentums = None
    beta2s = None
    if key == "betas":
        base_momentums = [float(g["betas"][0]) for g in groups]
        beta2s = [float(g["betas"][1]) for g in groups]
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
