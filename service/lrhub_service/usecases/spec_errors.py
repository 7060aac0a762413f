"""Spec errors as request errors: every field path prefixed in one place."""

from __future__ import annotations

from lrhub_service.engine import CostLimitError, SpecError
from lrhub_service.usecases.compute import LimitExceeded
from lrhub_service.usecases.errors import Invalid


def request_loc(prefix: str, loc: str, *, built: bool = False) -> str:
    """``loc`` of a spec error as a path in the request: ``schedule.schedulers[1].T_max``.

    A build error at the spec's top-level ``base_lr`` (no base values to build with) is the
    request's ``base_lrs``.
    """
    if built and loc == "base_lr":
        return "base_lrs"
    if not loc:
        return prefix
    return f"{prefix}{loc}" if loc.startswith("[") else f"{prefix}.{loc}"


def invalid_spec(exc: SpecError, prefix: str = "schedule", *, built: bool = False) -> Invalid:
    """The 422 for a refused spec (or a failed build), each location prefixed with ``prefix``;
    one over a cost limit is a ``LimitExceeded`` (counted in /metrics as refused)."""
    errors = [
        {"loc": request_loc(prefix, e["loc"], built=built), "msg": e["msg"]} for e in exc.errors
    ]
    detail = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors)
    if isinstance(exc, CostLimitError):  # over a limit of the CPU budget: counted as refused
        return LimitExceeded(errors[0]["loc"], detail, errors=errors)
    return Invalid(detail, errors=errors)
