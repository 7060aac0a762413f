"""``{"type": "timm", "scheduler": ...}``: timm's schedulers and their arguments on primitives.

Step ``k`` is timm's ``t = k`` (one step per epoch, or per update with ``t_in_epochs``
false); ``updates_per_epoch`` maps as timm's ``create_scheduler_v2`` does: with
``t_in_epochs`` false it scales ``t_initial``, ``warmup_t``, ``decay_t``,
``stable_timescale`` and ``noise_range_t`` to updates, with ``t_in_epochs`` true the
epoch-clock values hold for ``updates_per_epoch`` steps each.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import Field, SerializerFunctionWrapHandler, ValidationError, model_serializer

from ..beyond import LRNoise, Offset, PerEpoch
from ..errors import SpecError
from ..node import Context, Node
from ..specs.base import Problem, SpecModel
from ..specs.composite import SequentialLR
from ..specs.decay import ConstantLR
from .kwargs import KwargError, nested_problems
from .timm_shapes import ARGUMENTS, DEFAULTS, core

TIMM_VERSION = "1.0.31"
Scheduler = Literal[
    "CosineLRScheduler", "TanhLRScheduler", "StepLRScheduler", "MultiStepLRScheduler",
    "PlateauLRScheduler", "PolyLRScheduler", "WSDLRScheduler",
]  # fmt: skip
Real = float | None
Count = Annotated[int, Field(ge=0, le=2**40)] | None


class TimmSchedule(SpecModel):
    """A ``timm.scheduler`` class with its own keyword arguments (docs/compat.md)."""

    type: Literal["timm"] = "timm"
    scheduler: Scheduler
    t_initial: Annotated[float, Field(gt=0)] | None = None
    decay_t: Annotated[float, Field(gt=0)] | list[Annotated[int, Field(ge=0)]] | None = None
    decay_rate: Real = None
    lr_min: Annotated[float, Field(ge=0)] | None = None
    cycle_mul: Annotated[float, Field(gt=0)] | None = None
    cycle_decay: Annotated[float, Field(ge=0)] | None = None
    cycle_limit: Count = None
    k_decay: Annotated[float, Field(gt=0)] | None = None
    power: Annotated[float, Field(ge=0)] | None = None
    lb: Real = None
    ub: Real = None
    warmup_t: Count = None
    warmup_lr_init: Annotated[float, Field(ge=0)] | None = None
    warmup_prefix: bool | None = None
    t_in_epochs: bool | None = None
    noise_range_t: float | list[float] | None = None
    noise_type: Literal["normal", "uniform"] | None = None
    noise_pct: Annotated[float, Field(gt=0)] | None = None
    noise_std: Annotated[float, Field(gt=0)] | None = None
    noise_seed: Annotated[int, Field(ge=-(2**62), le=2**62)] | None = None
    patience_t: Count = None
    threshold: Annotated[float, Field(ge=0)] | None = None
    cooldown_t: Count = None
    mode: Literal["min", "max"] | None = None
    stable_fn: Literal["constant", "rsqrt", "power"] | None = None
    stable_timescale: Annotated[float, Field(gt=0)] | None = None
    stable_power: Annotated[float, Field(gt=0)] | None = None
    decay_fn: Literal["linear", "1-sqrt", "cosine", "power", "exp"] | None = None
    decay_power: Annotated[float, Field(gt=0)] | None = None
    decay_ratio: Annotated[float, Field(gt=0, lt=1)] | None = None
    initialize: bool | None = None
    updates_per_epoch: Annotated[int, Field(gt=0, le=2**30)] | None = None
    library_version: Literal["1.0.31"] = TIMM_VERSION

    @model_serializer(mode="wrap")
    def _given_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """The stored spec holds the arguments given (timm's defaults are the version's)."""
        return {k: v for k, v in handler(self).items() if v is not None}

    def group_hint(self) -> int | None:
        return None

    def problems(self) -> Iterator[Problem]:
        given = {n for n in ARGUMENTS if getattr(self, n) is not None}
        for name in sorted(given - set(DEFAULTS[self.scheduler]) - {"updates_per_epoch"}):
            yield ((name,), f"unknown argument; {self.scheduler} does not take it")
        if given - set(DEFAULTS[self.scheduler]) - {"updates_per_epoch"}:
            return
        try:
            yield from nested_problems(self.expand())
        except KwargError as exc:
            yield ((exc.name,), str(exc))
        except SpecError as exc:
            for error in exc.errors:
                yield ((error["loc"],) if error["loc"] else (), error["msg"])

    def args(self) -> dict[str, Any]:
        """Every argument of the class: the given ones over timm's defaults, in steps."""
        found = {**DEFAULTS[self.scheduler]}
        found.update({n: getattr(self, n) for n in found if getattr(self, n, None) is not None})
        per = self.updates_per_epoch
        if per and not found.get("t_in_epochs", True):
            for name in ("t_initial", "warmup_t", "decay_t", "stable_timescale", "noise_range_t"):
                value = found.get(name)
                if isinstance(value, list):
                    found[name] = [v * per for v in value]
                elif value is not None:
                    found[name] = value * per
        return found

    def expand(self) -> SpecModel:
        """The primitive spec that gives timm's values at every step."""
        args = self.args()
        try:
            spec = core(self.scheduler, args)
            spec = _noise(self.scheduler, args, spec)
            if not args["warmup_t"] and self.scheduler != "PlateauLRScheduler":
                first = ConstantLR(factor=1.0, total_iters=0)  # the constructor's base lr
                spec = SequentialLR(
                    schedulers=[first, Offset(steps=1, schedule=spec)], milestones=[1]
                )
        except ValidationError as exc:
            first_error = exc.errors()[0]
            raise KwargError(str(first_error["loc"][-1]), first_error["msg"]) from None
        if self.updates_per_epoch and args.get("t_in_epochs", True):
            spec = PerEpoch(steps_per_epoch=self.updates_per_epoch, schedule=spec)
        return spec

    def compile(self, ctx: Context) -> Node:
        return self.expand().build(ctx)


def _noise(scheduler: str, args: dict[str, Any], spec: SpecModel) -> SpecModel:
    """timm's noise over ``noise_range_t`` (never at t = 0, which the constructor sets; for
    the plateau scheduler only after its warm-up)."""
    given = args.get("noise_range_t")
    if given is None:
        return spec
    if isinstance(given, list):
        if len(given) != 2:
            raise KwargError("noise_range_t", "must be a number or a list of two numbers")
        start, end = math.ceil(given[0]), math.ceil(given[1])
    else:
        start, end = math.ceil(given), None
    first = args["warmup_t"] + 1 if scheduler == "PlateauLRScheduler" else 1
    start = max(start, first)
    if end is not None and end <= start:
        return spec
    seed, kind = args.get("noise_seed"), args.get("noise_type") or "normal"
    if kind == "normal" and args["noise_pct"] / args["noise_std"] < 0.02:
        raise KwargError("noise_pct", "noise_pct / noise_std must be >= 0.02 (timm draws until"
                         " |noise| < noise_pct)")  # fmt: skip
    return LRNoise(
        schedule=spec, range_start=start, range_end=end,
        noise_type=kind, pct=args["noise_pct"],
        std=args["noise_std"], seed=42 if seed is None else seed,
    )  # fmt: skip
