"""Compiled schedules: per-group pure functions of an array of local steps, and how they
compose.

A spec model compiles, given a :class:`Context`, into a :class:`Node`. Leaves are
closed forms over int64 step arrays; composites (SequentialLR, ChainedScheduler,
revisions) call their children with a shifted clock on the steps that are theirs.
Metric-driven nodes add a :class:`MetricHook`, which folds reports into that node's
record of the :class:`MetricState`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from .errors import MissingBaseLR, SpecError, join_loc
from .state import MetricState

Steps = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
LrFn = Callable[[Steps, MetricState], Floats]
"""``(local_steps, state) -> values`` for one parameter group, one value per step."""
TransformFn = Callable[[Floats, Steps, MetricState], Floats]
"""``(incoming_lrs, local_steps, state) -> lrs``: how a node acts on a running lr in a chain."""


def at_step(fn: LrFn, step: int, state: MetricState) -> float:
    """``fn`` at one step, as a Python float."""
    return float(fn(np.array([step], dtype=np.int64), state)[0])


class HookOutcome(NamedTuple):
    """A metric hook's new record and the flags it raises (a tuple: cheap per report)."""

    record: Any
    stop: bool = False
    diverged: bool = False


class MetricHook(Protocol):
    """Folds reports (in the node's own clock) into the node's record."""

    key: str

    def initial(self) -> Any: ...

    def fold(
        self, record: Any, step: int, metrics: Mapping[str, float], state: MetricState
    ) -> HookOutcome | None: ...

    def decision(self, old: Any, new: Any) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class RoutedHook:
    """Passes a report on when ``after < step < before`` (outer clock), shifted by ``offset``.

    A report at a composite's switch step was measured under the previous child, so it
    is routed nowhere; inside the window the inner hook sees its own clock.
    """

    inner: MetricHook
    offset: int
    after: int
    before: int | None

    @property
    def key(self) -> str:
        return self.inner.key

    def initial(self) -> Any:
        return self.inner.initial()

    def fold(
        self, record: Any, step: int, metrics: Mapping[str, float], state: MetricState
    ) -> HookOutcome | None:
        if step <= self.after or (self.before is not None and step >= self.before):
            return None
        return self.inner.fold(record, step - self.offset, metrics, state)

    def decision(self, old: Any, new: Any) -> dict[str, Any] | None:
        found = self.inner.decision(old, new)
        if found is not None and isinstance(found.get("step"), int):
            found = {**found, "step": found["step"] + self.offset}  # back to the outer clock
        return found


@dataclass(frozen=True)
class Node:
    """A compiled schedule: one lr (and optionally momentum) function per group.

    ``bases`` is the node's reference lr per group (a chain multiplies children by
    ``lr / base``). When ``unit`` is set, ``lrs[g]`` is exactly ``bases[g] * unit``
    (build such nodes with :func:`proportional`), so a window computes one column for
    all groups. ``transforms`` is set by nodes that act on an incoming lr inside a
    ChainedScheduler (ReduceLROnPlateau); ``hooks`` are its metric-driven parts.
    """

    lrs: tuple[LrFn, ...]
    bases: tuple[float, ...]
    momentums: tuple[LrFn, ...] | None = None
    hooks: tuple[MetricHook, ...] = ()
    transforms: tuple[TransformFn, ...] | None = None
    unit: LrFn | None = None


def proportional(
    bases: tuple[float, ...],
    unit: LrFn,
    momentums: tuple[LrFn, ...] | None = None,
    hooks: tuple[MetricHook, ...] = (),
) -> Node:
    """A node whose every group is its base lr times one shared factor ``unit``."""
    lrs = tuple(_times(base, unit) for base in bases)
    return Node(lrs=lrs, bases=bases, momentums=momentums, hooks=hooks, unit=unit)


def _times(base: float, unit: LrFn) -> LrFn:
    def lr(steps: Steps, state: MetricState) -> Floats:
        return base * unit(steps, state)

    return lr


@dataclass(frozen=True)
class Context:
    """What a spec compiles against: groups, inherited base values, clock and path."""

    num_groups: int
    base_lrs: tuple[float, ...] | None
    base_momentums: tuple[float, ...] | None = None
    steps_per_epoch: int | None = None
    path: str = ""
    key_prefix: str = ""

    def child(self, *parts: str | int) -> Context:
        """The context of a nested field (``ctx.child("schedulers", 1)``)."""
        path = self.path
        for part in parts:
            path = join_loc(path, part)
        return replace(self, path=path)

    @property
    def key(self) -> str:
        """A state key unique to this node within the schedule."""
        return f"{self.key_prefix}{self.path or '$'}"

    def loc(self, name: str) -> str:
        """The field path of one of this node's parameters."""
        return join_loc(self.path, name)

    def per_group(self, name: str, value: float | Sequence[float]) -> tuple[float, ...]:
        """A number or one-per-group list as a per-group tuple (SpecError on a length mismatch)."""
        if isinstance(value, (int, float)):
            return (float(value),) * self.num_groups
        if len(value) != self.num_groups:
            raise SpecError(
                f"expected {self.num_groups} values (one per parameter group), got {len(value)}",
                self.loc(name),
            )
        return tuple(float(v) for v in value)

    def with_base(self, base_lr: float | Sequence[float] | None) -> Context:
        """This context with the spec's own ``base_lr`` (if any) overriding the inherited one."""
        if base_lr is None:
            return self
        return replace(self, base_lrs=self.per_group("base_lr", base_lr))

    def require_bases(self) -> tuple[float, ...]:
        """The base lrs, or MissingBaseLR when neither the spec nor the optimizer gave them."""
        if self.base_lrs is None:
            raise MissingBaseLR(self.loc("base_lr"))
        return self.base_lrs


def constant_node(values: Sequence[float]) -> Node:
    """A node holding each group's value forever."""
    return Node(lrs=tuple(_const(v) for v in values), bases=tuple(values))


def _const(value: float) -> LrFn:
    def lr(steps: Steps, state: MetricState) -> Floats:
        return np.full(steps.shape, value)

    return lr


def scaled(fn: LrFn, factor: float) -> LrFn:
    """``fn`` times a constant."""
    if factor == 1.0:
        return fn

    def lr(steps: Steps, state: MetricState) -> Floats:
        return fn(steps, state) * factor

    return lr
