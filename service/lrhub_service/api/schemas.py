"""Request bodies: strict pydantic models (unknown fields are refused, names say why)."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from lrhub_service.api.bodies import Schedule

MAX_STEP = 2**62
MAX_RUN_ID = 2**62
MAX_GROUPS = 10_000

Step = Annotated[int, Field(ge=0, le=MAX_STEP)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Momentum = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
RUN_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@/+=-]*$"
METRIC_PATTERN = r"^[A-Za-z0-9_./:-]+$"
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
RunName = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=RUN_NAME_PATTERN)]
MetricName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=METRIC_PATTERN)]
NON_FINITE = {
    "nan": math.nan,
    "infinity": math.inf,
    "+infinity": math.inf,
    "-infinity": -math.inf,
    "inf": math.inf,
    "+inf": math.inf,
    "-inf": -math.inf,
}


INT64 = 2**63


Trail = tuple[str | int, "Trail"] | None


def _too_big(value: Any) -> str | None:
    """The path of an integer in ``value`` that JSON clients and databases cannot hold.

    Iterative (no recursion limit on deep input), and the path is only spelled out for a hit.
    """
    stack: list[tuple[Any, Trail]] = [(value, None)]
    while stack:
        item, trail = stack.pop()
        kind = type(item)
        if kind is int and not -INT64 <= item < INT64:
            return _spell(trail)
        if kind is dict:
            stack.extend((child, (key, trail)) for key, child in item.items())
        elif kind is list:
            stack.extend((child, (index, trail)) for index, child in enumerate(item))
    return None


def _spell(trail: Trail) -> str:
    parts: list[str | int] = []
    while trail is not None:
        parts.append(trail[0])
        trail = trail[1]
    path = "schedule"
    for part in reversed(parts):
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _within_int64(value: dict[str, Any]) -> dict[str, Any]:
    found = _too_big(value)
    if found is not None:
        raise ValueError(f"{found}: integers must fit in 64 bits (|n| < 2**63)")
    return value


SpecJson = Annotated[Schedule, AfterValidator(_within_int64)]
"""A schedule as sent: the engine validates it; integers must fit in 64 bits."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


LaunchKey = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=PRINTABLE)]


class WorkerIdentity(Strict):
    """Who is writing: all fields optional."""

    rank: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    world_size: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    local_rank: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    host: Annotated[str, StringConstraints(max_length=200, pattern=PRINTABLE)] | None = None
    pid: Annotated[int, Field(ge=0, le=2**31)] | None = None
    launch: LaunchKey | None = Field(
        default=None,
        description="the launch the worker belongs to: its ranks share one start step and "
        "decide each report point on their mean",
    )


class RunOptions(Strict):
    steps_per_epoch: Annotated[int, Field(ge=1, le=MAX_STEP)] | None = None
    world_size: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    report_interval: Annotated[int, Field(ge=1, le=MAX_STEP)] | None = None


class CreateRun(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "resnet50-exp7",
                    "schedule": {"type": "OneCycleLR", "max_lr": 0.4, "total_steps": 90_000},
                    "options": {"world_size": 4},
                }
            ]
        }
    )

    name: RunName
    schedule: SpecJson
    options: RunOptions = Field(default_factory=RunOptions)
    restart: bool = False


class Attach(Strict):
    base_lrs: Annotated[list[PositiveFloat], Field(min_length=1, max_length=MAX_GROUPS)]
    base_momentums: Annotated[list[Momentum], Field(min_length=1, max_length=MAX_GROUPS)] | None = (
        None
    )
    worker: WorkerIdentity | None = None

    @field_validator("base_momentums")
    @classmethod
    def _same_length(cls, value: list[float] | None, info: Any) -> list[float] | None:
        lrs = info.data.get("base_lrs")
        if value is not None and lrs is not None and len(value) != len(lrs):
            raise ValueError(f"needs one value per group ({len(lrs)}), got {len(value)}")
        return value


class Advance(Strict):
    count: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    worker: WorkerIdentity | None = None


class Progress(Strict):
    step: Step
    worker: WorkerIdentity | None = None
    final: Annotated[bool, Field(strict=True)] = Field(
        default=False, description="the worker exited cleanly"
    )


def _metric(value: Any) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool):
        raise ValueError('must be a number, null, or "NaN"/"Infinity"/"-Infinity"')
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value.strip().lower() in NON_FINITE:
        return NON_FINITE[value.strip().lower()]
    raise ValueError('must be a number, null, or "NaN"/"Infinity"/"-Infinity"')


MetricValue = Annotated[float, Field(allow_inf_nan=True), BeforeValidator(_metric)]


class ReportMetrics(Strict):
    step: Annotated[int, Field(ge=1, le=MAX_STEP)]
    metrics: Annotated[dict[MetricName, MetricValue], Field(min_length=1, max_length=100)]
    worker: WorkerIdentity | None = None
    window: Annotated[int, Field(ge=1, le=1_000_000)] | None = None


class Resume(Strict):
    step: Step
    worker: WorkerIdentity | None = None


class Revise(Strict):
    schedule: SpecJson
    from_step: Step | None = None
    continue_: bool = Field(default=True, alias="continue")
    clock: Literal["global", "restart"] = "global"
    expected_revision: Annotated[int, Field(ge=1)] | None = None
    from_step_exact: bool = Field(
        default=False,
        description="a from_step already promised is a 409 instead of moving to horizon + 1",
    )

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Preview(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "schedule": {"type": "CosineAnnealingLR", "T_max": 100},
                    "steps": 100,
                    "base_lrs": [0.1],
                }
            ]
        }
    )

    schedule: SpecJson
    steps: Annotated[int, Field(ge=1)]
    base_lrs: Annotated[list[PositiveFloat], Field(min_length=1, max_length=MAX_GROUPS)] | None = (
        None
    )
    base_momentums: Annotated[list[Momentum], Field(min_length=1, max_length=MAX_GROUPS)] | None = (
        None
    )
    steps_per_epoch: Annotated[int, Field(ge=1, le=MAX_STEP)] | None = None
