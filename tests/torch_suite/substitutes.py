"""Stand-ins for torch's scheduler classes that attach lrhub runs instead (imported by name:
tests/torch_suite is on sys.path).

``StepLR(optimizer, step_size=3)`` in torch's test file becomes a run on the real server with
the spec ``{"type": "StepLR", "step_size": 3}``, attached to ``optimizer``. Arguments are
bound to torch's own signature, so a wrong call fails as it does in torch; what lrhub has no
form for (a callable, a nested scheduler object, ``last_epoch``) raises ``TypeError`` and is
listed in expected_differences.py.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import numbers
import weakref
from collections.abc import Iterator
from typing import Any

import torch
from torch.optim import lr_scheduler

import lrhub
from lrhub.scheduler import LrhubScheduler

# every scheduler of torch.optim.lr_scheduler, each an lrhub spec type of the same name
TORCH_TYPES = (
    "LambdaLR",
    "MultiplicativeLR",
    "StepLR",
    "MultiStepLR",
    "ConstantLR",
    "LinearLR",
    "ExponentialLR",
    "PolynomialLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "ChainedScheduler",
)
SIGNATURES = {name: inspect.signature(getattr(lr_scheduler, name)) for name in TORCH_TYPES}
_names = itertools.count()


class Attachments:
    """The client the stand-ins create runs with, and every scheduler they attached."""

    def __init__(self, client: lrhub.Client, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self.schedulers: weakref.WeakSet[LrhubScheduler] = weakref.WeakSet()  # a test may drop one

    def attach(self, spec: dict[str, Any], optimizer: Any) -> LrhubScheduler:
        """A new run of ``spec`` attached to ``optimizer`` (as each torch constructor starts)."""
        run = self.client.create_run(f"{self.prefix}-{next(_names)}", spec)
        scheduler = run.attach(optimizer, window_size=64)
        self.schedulers.add(scheduler)
        return scheduler

    def close_all(self) -> None:
        """End every attached scheduler's thread (a test never closes its schedulers)."""
        for scheduler in list(self.schedulers):
            scheduler.close(0)
        self.schedulers.clear()


class LrhubType(type):
    """The class of one stand-in: calling it attaches a run of that type; ``isinstance``
    holds for the lrhub schedulers whose run has that type."""

    attachments: Attachments | None = None

    def __call__(cls, *args: Any, **kwargs: Any) -> LrhubScheduler:  # type: ignore[override]
        bound = SIGNATURES[cls.__name__].bind(*args, **kwargs)  # torch's own signature
        params = dict(bound.arguments)
        optimizer = params.pop("optimizer", None)
        params.pop("verbose", None)
        if params.pop("last_epoch", -1) != -1:
            raise TypeError(
                "lrhub has no last_epoch argument: resume with scheduler.load_state_dict() "
                "or run.resume(step)"
            )
        spec = {"type": cls.__name__, **{k: plain(k, v) for k, v in params.items()}}
        if LrhubType.attachments is None:
            raise RuntimeError("the lrhub stand-ins are used outside a torch-suite test")
        return LrhubType.attachments.attach(spec, optimizer)

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, LrhubScheduler) and obj.run.info.schedule.get("type") == cls.__name__


def plain(name: str, value: Any) -> Any:
    """``value`` as JSON for a spec; what has no JSON form in lrhub raises ``TypeError``."""
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(name, v) for v in value]
    if isinstance(value, lr_scheduler.LRScheduler):
        raise TypeError(
            f"{name}: an lrhub scheduler cannot be nested in another; put the schedules in "
            'one spec: {"type": "SequentialLR", "schedulers": [{...}, ...]}'
        )
    if callable(value):
        raise TypeError(
            f"{name}: lrhub takes a schedule's functions as expression strings, "
            'e.g. "0.95 ** epoch", not Python callables'
        )
    if value is None or isinstance(value, (str, bool, numbers.Real)):
        return value
    raise TypeError(f"{name}: {type(value).__name__} has no form in an lrhub spec")


STAND_INS: dict[str, type] = {name: LrhubType(name, (), {}) for name in TORCH_TYPES}


@contextlib.contextmanager
def in_place_of_torch() -> Iterator[None]:
    """``torch.optim.lr_scheduler``'s classes are the stand-ins inside the block (a module
    imported inside it binds the stand-ins, e.g. in ``partial(StepLR, ...)``)."""
    originals = {name: getattr(lr_scheduler, name) for name in TORCH_TYPES}
    try:
        for name, stand_in in STAND_INS.items():
            setattr(lr_scheduler, name, stand_in)
        yield
    finally:
        for name, original in originals.items():
            setattr(lr_scheduler, name, original)
