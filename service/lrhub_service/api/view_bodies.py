"""Response bodies of the dashboard's reads: downsampled curves, a run's overview, a
dry-run revision (documented in the OpenAPI document like every other answer)."""

from __future__ import annotations

from pydantic import Field

from lrhub_service.api.bodies import Body, FloatOrNonFinite, Run, Schedule


class Extremes(Body):
    """Per group (outer list) and bucket (inner list): the least and the greatest sample."""

    min: list[list[float]]
    max: list[list[float]]


class Curve(Body):
    """A schedule over ``[start, end)`` in buckets of ``bucket`` steps starting at ``steps``."""

    start: int = Field(ge=0)
    end: int = Field(ge=1)
    bucket: int = Field(ge=1)
    steps: list[int]
    lr: Extremes
    momentum: Extremes | None


class RunCurve(Curve):
    revision: int = Field(ge=1)
    progress: int
    horizon: int


class MetricSeries(Body):
    """One metric in buckets of ``bucket`` steps: first step, min and max of the finite
    values (null: none finite), and how many were not finite."""

    bucket: int = Field(ge=1)
    steps: list[int]
    min: list[FloatOrNonFinite | None]
    max: list[FloatOrNonFinite | None]
    nonfinite: list[int]


class MetricCurves(Body):
    metrics: list[str] = Field(description="every metric the run has counted reports of")
    series: dict[str, MetricSeries]


class WorkerSeen(Body):
    identity: str
    rank: int | None
    host: str | None
    pid: int | None
    step: int
    last_seen: str
    live: bool = Field(description="seen within delete_active_s")


class RevisionSummary(Body):
    revision: int = Field(ge=1)
    effective_step: int = Field(ge=0)
    schedule: Schedule
    clock: str
    continue_: bool = Field(alias="continue")
    created_at: str


class Overview(Body):
    """A run with what its page shows beside the curves (``ETag`` covers all of it)."""

    run: Run
    span: int = Field(ge=1, description="the steps the dashboard draws: plan or progress")
    report_count: int = Field(ge=0)
    last_report_step: int | None
    metrics: list[str]
    workers: list[WorkerSeen]
    revisions: list[RevisionSummary]


class DryRun(Body):
    """What a revision would do now; nothing is stored."""

    stored: bool = Field(description="always false")
    revision: int = Field(ge=2, description="the revision it would become")
    effective_step: int = Field(ge=0)
    schedule: Schedule
    scale: list[float] | None
    curve: Curve | None = Field(description="from the effective step (null: no base values)")
