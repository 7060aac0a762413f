"""Each timm scheduler class's arguments and defaults, and its shape on the primitives."""

from __future__ import annotations

from typing import Any

from ..beyond import CycleAnneal, Warmup
from ..beyond.wsd import WarmupStableDecay
from ..specs.base import SpecModel
from ..specs.decay import MultiStepLR
from ..specs.plateau import ReduceLROnPlateau
from .kwargs import KwargError

_NOISE = {"noise_range_t": None, "noise_pct": 0.67, "noise_std": 1.0, "noise_seed": 42}
_WARM = {"warmup_t": 0, "warmup_lr_init": 0.0}
_CYCLES = {"lr_min": 0.0, "cycle_mul": 1.0, "cycle_decay": 1.0, "cycle_limit": 1}
_COMMON = {**_WARM, **_NOISE, "t_in_epochs": True, "initialize": True}
DEFAULTS: dict[str, dict[str, Any]] = {
    "CosineLRScheduler": {
        "t_initial": None, **_CYCLES, **_COMMON, "warmup_prefix": False, "k_decay": 1.0,
    },
    "TanhLRScheduler": {
        "t_initial": None, "lb": -7.0, "ub": 3.0, **_CYCLES, **_COMMON, "warmup_prefix": False,
    },
    "StepLRScheduler": {"decay_t": None, "decay_rate": 1.0, **_COMMON, "warmup_prefix": True},
    "MultiStepLRScheduler": {
        "decay_t": None, "decay_rate": 1.0, **_COMMON, "warmup_prefix": True,
    },
    "PlateauLRScheduler": {
        "decay_rate": 0.1, "patience_t": 10, "threshold": 1e-4, "cooldown_t": 0, **_WARM,
        "lr_min": 0.0, "mode": "max", **_NOISE, "noise_type": "normal", "noise_seed": None,
        "initialize": True,
    },
    "PolyLRScheduler": {
        "t_initial": None, "power": 0.5, **_CYCLES, **_COMMON, "warmup_prefix": False,
        "k_decay": 1.0,
    },
    "WSDLRScheduler": {
        "t_initial": None, "decay_t": None, "lr_min": 0.0, "stable_fn": "constant",
        "stable_timescale": None, "stable_power": 0.5, "decay_fn": "1-sqrt", "decay_power": 0.5,
        "decay_ratio": 0.1, **_COMMON,
    },
}  # fmt: skip
ARGUMENTS = sorted({name for args in DEFAULTS.values() for name in args})
_SHAPES = {"CosineLRScheduler": "cosine", "TanhLRScheduler": "tanh", "PolyLRScheduler": "poly"}


def _required(args: dict[str, Any], name: str) -> Any:
    if args.get(name) is None:
        raise KwargError(name, "field required")
    return args[name]


def _warmed(args: dict[str, Any], inner: SpecModel, *, target: str = "base") -> SpecModel:
    """timm's linear warm-up from ``warmup_lr_init`` (a prefix or not)."""
    return Warmup(
        warmup_steps=args["warmup_t"], start_lr=args["warmup_lr_init"], target=target,
        shift=bool(args.get("warmup_prefix", True)), schedule=inner,
    )  # fmt: skip


def core(scheduler: str, args: dict[str, Any]) -> SpecModel:
    """The class's values on timm's clock, warm-up included, noise not."""
    if scheduler in _SHAPES:
        shape = _SHAPES[scheduler]
        cycles = CycleAnneal(
            T_0=_required(args, "t_initial"), T_mult=args["cycle_mul"],
            restart_decay=args["cycle_decay"], cycle_limit=args["cycle_limit"],
            eta_min=args["lr_min"], shape=shape, k_decay=args.get("k_decay", 1.0),
            power=args.get("power", 1.0), lb=args.get("lb", -7.0), ub=args.get("ub", 3.0),
        )  # fmt: skip
        # timm's tanh without prefix warms up towards its own value where the warm-up ends
        end = shape == "tanh" and not args["warmup_prefix"]
        return _warmed(args, cycles, target="end" if end else "base")
    if scheduler == "StepLRScheduler":
        decay_t = _required(args, "decay_t")
        if isinstance(decay_t, list):
            raise KwargError("decay_t", "must be a number for StepLRScheduler")
        steps = CycleAnneal(
            T_0=decay_t, restart_decay=args["decay_rate"], cycle_limit=None, shape="constant"
        )
        return _warmed(args, steps)
    if scheduler == "MultiStepLRScheduler":
        milestones = _required(args, "decay_t")
        if not isinstance(milestones, list) or milestones != sorted(milestones):
            raise KwargError("decay_t", "must be a sorted list of epochs (timm bisects it)")
        # timm applies milestone m at t = m - 1 (it bisects t + 1)
        shifted = [max(0, int(m) - 1) for m in milestones]
        return _warmed(args, MultiStepLR(milestones=shifted, gamma=args["decay_rate"]))
    if scheduler == "PlateauLRScheduler":
        plateau = ReduceLROnPlateau(
            mode=args["mode"], factor=args["decay_rate"], patience=args["patience_t"],
            threshold=args["threshold"], cooldown=args["cooldown_t"], min_lr=args["lr_min"],
        )  # fmt: skip
        return _warmed({**args, "warmup_prefix": False}, plateau)
    return _wsd(args)


def _wsd(args: dict[str, Any]) -> SpecModel:
    total, decay = _required(args, "t_initial"), _required(args, "decay_t")
    if int(total) != total:
        raise KwargError("t_initial", "must be a whole number for WSDLRScheduler")
    if isinstance(decay, list) or not 0 < decay <= total or int(decay) != decay:
        raise KwargError("decay_t", f"must be a whole number in (0, t_initial = {total}]")
    timescale = args["stable_timescale"]
    if args["stable_fn"] != "constant" and timescale is None:
        if not args["warmup_t"]:
            raise KwargError("stable_timescale", "needed without a warm-up (timm's default)")
        timescale = args["warmup_t"]
    inner = WarmupStableDecay(
        stable_steps=int(total - decay), decay_steps=int(decay), stable_shape=args["stable_fn"],
        stable_timescale=timescale, stable_power=args["stable_power"],
        decay_shape=args["decay_fn"], decay_power=args["decay_power"],
        decay_ratio=args["decay_ratio"], min_lr=args["lr_min"],
    )  # fmt: skip
    return _warmed({**args, "warmup_prefix": True}, inner)
