"""``{"type": "transformers", "name": ...}``: transformers' get_scheduler names on primitives."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from ..beyond import CosineDecay, CycleAnneal, GreedyLR, InverseSqrt, Offset, Warmup
from ..beyond.wsd import WarmupStableDecay
from ..errors import SpecError
from ..node import Context, Node
from ..specs.base import Problem, SpecModel
from ..specs.decay import ConstantLR
from ..specs.plateau import ReduceLROnPlateau
from .kwargs import KwargError, Kwargs, nested_problems

TRANSFORMERS_VERSION = "5.23"
Name = Literal[
    "linear", "cosine", "cosine_with_restarts", "polynomial", "constant",
    "constant_with_warmup", "inverse_sqrt", "reduce_lr_on_plateau", "cosine_with_min_lr",
    "cosine_warmup_with_min_lr", "warmup_stable_decay", "greedy",
]  # fmt: skip
NEEDS_TRAINING_STEPS = (
    "linear", "cosine", "cosine_with_restarts", "polynomial", "cosine_with_min_lr",
    "cosine_warmup_with_min_lr",
)  # fmt: skip
METRIC_DRIVEN = ("reduce_lr_on_plateau", "greedy")
_PLATEAU = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr",
            "eps")  # fmt: skip
_GREEDY = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "warmup",
           "min_lr", "max_lr", "eps", "smooth", "window_size", "reset_start")  # fmt: skip
Bases = tuple[float, ...]


class TransformersSchedule(SpecModel):
    """transformers' ``get_scheduler(name, optimizer, num_warmup_steps, num_training_steps,
    scheduler_specific_kwargs)``, value for value (docs/compat.md)."""

    type: Literal["transformers"] = "transformers"
    name: Name
    num_warmup_steps: Annotated[int, Field(ge=0, le=2**40)] | None = None
    num_training_steps: Annotated[int, Field(ge=0, le=2**40)] | None = None
    scheduler_specific_kwargs: dict[str, Any] = Field(default_factory=dict)
    library_version: Literal["5.23"] = TRANSFORMERS_VERSION

    def group_hint(self) -> int | None:
        return None

    def problems(self) -> Iterator[Problem]:
        try:
            yield from nested_problems(self.expand(None))
        except KwargError as exc:
            yield (("scheduler_specific_kwargs", exc.name), str(exc))
        except SpecError as exc:
            for error in exc.errors:
                yield ((error["loc"],) if error["loc"] else (), error["msg"])

    def compile(self, ctx: Context) -> Node:
        try:
            spec = self.expand(ctx.require_bases())
        except KwargError as exc:  # e.g. lr_end against the optimizer's lr
            raise SpecError(str(exc), ctx.loc(f"scheduler_specific_kwargs.{exc.name}")) from None
        return spec.build(ctx)

    def expand(self, bases: Bases | None) -> SpecModel:
        """The primitive spec that gives this schedule's values (``bases``: the groups' base
        lrs, which polynomial and the ``min_lr`` forms need; None while validating)."""
        kwargs = Kwargs(self.scheduler_specific_kwargs, f"transformers' {self.name}")
        takes_warmup = self.name not in (*METRIC_DRIVEN, "constant")
        if takes_warmup and self.num_warmup_steps is None:
            raise SpecError(f"{self.name} needs num_warmup_steps", "num_warmup_steps")
        if self.name in NEEDS_TRAINING_STEPS and self.num_training_steps is None:
            raise SpecError(f"{self.name} needs num_training_steps", "num_training_steps")
        try:
            spec = _BUILDERS[self.name](self, kwargs, bases or (1.0,))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise KwargError(str(first["loc"][-1]), first["msg"]) from None
        kwargs.done()
        return spec

    @property
    def warm(self) -> int:
        return self.num_warmup_steps or 0

    @property
    def span(self) -> int:
        """``max(1, num_training_steps - num_warmup_steps)``: the decay's length."""
        return max(1, (self.num_training_steps or 0) - self.warm)


def _warm(spec: TransformersSchedule, inner: SpecModel) -> SpecModel:
    """transformers' linear warm-up ``step / max(1, W)`` up to the base lr."""
    return Warmup(warmup_steps=spec.warm, target="base", schedule=inner)


def _constant() -> SpecModel:
    return ConstantLR(factor=1.0, total_iters=0)


def _linear(spec: TransformersSchedule, kw: Kwargs, bases: Bases) -> SpecModel:
    if (spec.num_training_steps or 0) <= spec.warm:  # nothing left to decay: 0 after warm-up
        return _warm(spec, CycleAnneal(T_0=1, shape="poly", cycle_limit=0))
    return _warm(spec, CycleAnneal(T_0=spec.span, shape="poly", power=1.0))


def _cosine(spec: TransformersSchedule, kw: Kwargs, bases: Bases) -> SpecModel:
    cycles = kw.number("num_cycles", 0.5, low=0)
    return _warm(spec, CosineDecay(decay_steps=spec.span, num_cycles=cycles))


def _restarts(spec: TransformersSchedule, kw: Kwargs, bases: Bases) -> SpecModel:
    cycles = kw.number("num_cycles", 1, low=0)
    return _warm(spec, CosineDecay(decay_steps=spec.span, num_cycles=cycles, restarts=True))


def _polynomial(spec: TransformersSchedule, kw: Kwargs, bases: Bases) -> SpecModel:
    lr_end = kw.number("lr_end", 1e-7, low=0)
    power = kw.number("power", 1.0, low=0)
    if not bases[0] > lr_end:  # type: ignore[operator]
        raise KwargError("lr_end", f"must be smaller than the initial lr ({bases[0]})")
    ends = [lr_end * base / bases[0] for base in bases]  # type: ignore[operator]
    total = spec.num_training_steps or 0
    if total <= spec.warm:
        return _warm(spec, CycleAnneal(T_0=1, shape="poly", cycle_limit=0, eta_min=ends))
    decay = CycleAnneal(T_0=total - spec.warm, shape="poly", power=power, eta_min=ends)
    return _warm(spec, decay)


def _min_rate(kw: Kwargs, bases: Bases) -> float:
    min_lr, rate = kw.number("min_lr", None, low=0), kw.number("min_lr_rate", None, low=0)
    if min_lr is not None and rate is not None:
        raise KwargError("min_lr", "give min_lr or min_lr_rate, not both")
    if min_lr is None and rate is None:
        raise KwargError("min_lr_rate", "give min_lr or min_lr_rate")
    return rate if rate is not None else min_lr / bases[0]  # type: ignore[operator]


def _cosine_min(spec: TransformersSchedule, kw: Kwargs, bases: Bases) -> SpecModel:
    cycles = kw.number("num_cycles", 0.5, low=0)
    rate = _min_rate(kw, bases)
    return _warm(spec, CosineDecay(decay_steps=spec.span, num_cycles=cycles, min_lr_ratio=rate))


def _warmup_cosine_min(spec: TransformersSchedule, kw: Kwargs, bases: Bases) -> SpecModel:
    """Its warm-up and decay run one step ahead: ``(k + 1) / W`` and ``(k - W + 1) / span``."""
    cycles = kw.number("num_cycles", 0.5, low=0)
    rate, start = _min_rate(kw, bases), kw.number("warmup_lr_rate", None, low=0)
    decay = CosineDecay(decay_steps=spec.span, num_cycles=cycles, min_lr_ratio=rate)
    warm = spec.warm
    if start is None or warm == 0:
        return Offset(steps=1, schedule=_warm(spec, decay))
    if warm == 1:
        ahead = Offset(steps=1, schedule=decay)
        return Warmup(warmup_steps=1, start_factor=start, target="base", schedule=ahead)
    return Warmup(warmup_steps=warm - 1, start_factor=start, target="base", schedule=decay)


def _wsd(spec: TransformersSchedule, kw: Kwargs, bases: Bases) -> SpecModel:
    decay = kw.integer("num_decay_steps", None)
    stable = kw.integer("num_stable_steps", None)
    shapes = ("linear", "cosine", "1-sqrt")
    warmup_type = kw.choice("warmup_type", "linear", shapes)
    decay_type = kw.choice("decay_type", "cosine", shapes)
    ratio = kw.number("min_lr_ratio", 0.0, low=0)
    cycles = kw.number("num_cycles", 0.5, low=0)
    if decay is None:
        raise KwargError("num_decay_steps", "warmup_stable_decay needs num_decay_steps")
    if stable is None:
        if spec.num_training_steps is None:
            raise SpecError("give num_training_steps or num_stable_steps", "num_training_steps")
        stable = spec.num_training_steps - spec.warm - decay
        if stable < 0:
            raise SpecError("must be >= num_warmup_steps + num_decay_steps", "num_training_steps")
    return WarmupStableDecay(
        warmup_steps=spec.warm, stable_steps=stable, decay_steps=decay,
        warmup_shape=warmup_type, warmup_start_factor=ratio, decay_shape=decay_type,
        num_cycles=cycles, min_lr_ratio=ratio,
    )  # fmt: skip


def _greedy(spec: TransformersSchedule, kw: Kwargs, bases: Bases) -> SpecModel:
    kw.flag("verbose", False)  # printing only
    return GreedyLR(**kw.take(_GREEDY))


def _plateau(spec: TransformersSchedule, kw: Kwargs, bases: Bases) -> SpecModel:
    return ReduceLROnPlateau(**kw.take(_PLATEAU))


def _inverse_sqrt(spec: TransformersSchedule, kw: Kwargs, bases: Bases) -> SpecModel:
    return InverseSqrt(warmup_steps=spec.warm, timescale=kw.integer("timescale", None, low=1))


def _plain(spec: TransformersSchedule, kw: Kwargs, bases: Bases) -> SpecModel:
    return _constant() if spec.name == "constant" else _warm(spec, _constant())


_BUILDERS: dict[str, Callable[[TransformersSchedule, Kwargs, Bases], SpecModel]] = {
    "linear": _linear,
    "cosine": _cosine,
    "cosine_with_restarts": _restarts,
    "polynomial": _polynomial,
    "constant": _plain,
    "constant_with_warmup": _plain,
    "inverse_sqrt": _inverse_sqrt,
    "reduce_lr_on_plateau": _plateau,
    "cosine_with_min_lr": _cosine_min,
    "cosine_warmup_with_min_lr": _warmup_cosine_min,
    "warmup_stable_decay": _wsd,
    "greedy": _greedy,
}
