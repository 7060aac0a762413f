"""Response bodies: the shapes the use cases answer, as pydantic models for the OpenAPI document.

The hot routes still send bytes the use cases render (orjson); these models document them
(``response_model`` with a pre-rendered ``Response``), and tests/api/test_contract_bodies.py
validates real answers against them, so the document and the code cannot drift apart.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

SCHEDULE_MARK = "x-lrhub-schedule"
Schedule = Annotated[dict[str, Any], WithJsonSchema({"type": "object", SCHEDULE_MARK: True})]
"""A schedule spec: validated by the engine, documented as the ``"type"`` union (the
OpenAPI document replaces the mark with a reference to ``Schedule``)."""
FloatOrNonFinite = float | Literal["NaN", "Infinity", "-Infinity"]


class Body(BaseModel):
    """An answer: every field is always present (nullable ones as null)."""

    model_config = ConfigDict(extra="forbid")


class Value(Body):
    """The values at one step (group 0 repeated as ``lr``/``momentum``)."""

    step: int = Field(ge=0)
    lr: float
    lrs: list[float]
    momentum: float | None
    momentums: list[float] | None
    revision: int = Field(ge=0)


class Window(Body):
    """Consecutive steps in per-group columns: ``lrs[g][i]`` is group ``g`` at ``start + i``."""

    start: int = Field(ge=0)
    count: int = Field(ge=1)
    revision: int = Field(ge=0)
    lrs: list[list[float]]
    momentums: list[list[float]] | None
    next_report: int | None = Field(description="report here before reading on (null: never)")
    stop: bool
    promised_through: int | None = Field(description="last promised step (null: none)")


class RunLive(Body):
    """What the runs table shows beside a run: lr at its progress (null before base values),
    the steps its spec plans, its last report step and its workers seen lately."""

    current_lr: float | None
    planned_steps: int | None
    last_report_step: int | None
    live_workers: int = Field(ge=0)


class Run(Body):
    """A stored run (``schedule`` is the canonical spec of its latest revision)."""

    id: int = Field(ge=1)
    name: str
    schedule: Schedule
    revision: int = Field(ge=1)
    options: dict[str, Any]
    base_lrs: list[float] | None
    base_momentums: list[float] | None
    num_groups: int | None
    has_momentum: bool
    metric_driven: bool
    progress: int
    horizon: int
    next_step: int
    status: str = Field(
        description="created, running, stalled, finished, stopped, diverged or archived "
        "(the status rule: docs/dashboard.md)"
    )
    clean_exit: bool | None
    archived_at: str | None = Field(description="when it was archived (null: not archived)")
    created_at: str
    updated_at: str
    live: RunLive | None = Field(
        default=None, description="only in a list asked for with detail=live"
    )


class RemovedRows(Body):
    """How many rows of each kind a delete removed."""

    revisions: int = Field(ge=0)
    reports: int = Field(ge=0)
    events: int = Field(ge=0)
    workers: int = Field(ge=0)
    fold_snapshots: int = Field(ge=0)
    idempotency_keys: int = Field(ge=0)


class Deleted(Body):
    """The answer to ``DELETE /v1/runs/{id}``."""

    id: int = Field(ge=1)
    name: str
    deleted: bool
    forced: bool
    removed: RemovedRows


class RunPage(Body):
    items: list[Run]
    next_cursor: str | None


class Attached(Body):
    run: Run
    start_step: int = Field(ge=0)
    values: Value
    clean_exit: bool | None


class Revised(Body):
    revision: int = Field(ge=1)
    effective_step: int = Field(ge=0)
    run: Run


class RevisionItem(Body):
    revision: int = Field(ge=1)
    effective_step: int = Field(ge=0)
    schedule: Schedule
    clock: Literal["global", "restart"]
    continue_: bool = Field(alias="continue")
    scale: list[float] | None = Field(description="per-group factors joining the new schedule")
    created_at: str


class RevisionList(Body):
    items: list[RevisionItem]


class Event(Body):
    id: int
    kind: str
    step: int | None
    data: dict[str, Any]
    created_at: str


class EventPage(Body):
    items: list[Event]
    next_after: int | None


class StoredReport(Body):
    step: int
    metrics: dict[str, FloatOrNonFinite]
    effective_step: int
    counted: bool


class ReportPage(Body):
    items: list[StoredReport]
    next_after: int | None


class PendingReport(Body):
    """A launch's report point waiting for its other ranks: report again to learn the
    decision (taken on the mean once every rank reported, or after ``wait_s``)."""

    ranks: int = Field(ge=1, description="ranks of the launch that reported")
    world_size: int = Field(ge=2)
    wait_s: float = Field(ge=0, description="seconds until it decides without the others")


class ReportAnswer(Body):
    """What a report decided, with the values from the step it takes effect (null while
    ``pending``)."""

    step: int
    effective_step: int
    decision: dict[str, Any] | None
    stop: bool
    diverged: bool
    values: Value | None
    window: Window | None
    pending: PendingReport | None


class ProgressAnswer(Body):
    step: int = Field(ge=0, description="the run's progress")


class Suggestions(Body):
    steepest: float | None
    valley: float | None
    min_div10: float | None
    minimum: float | None


class FinderCurve(Body):
    """A range test's losses against the lr that produced each, with its suggestions."""

    run_id: int
    metric: str
    group: int
    smoothing: float
    diverge_factor: float | None
    range_test: bool
    steps: list[int]
    lrs: list[float]
    losses: list[FloatOrNonFinite]
    smoothed: list[float | None]
    suggestions: Suggestions
    suggested_lr: float | None
    stopped: bool
    stop_reason: str | None
    stop_step: int | None
    stop_lr: float | None


class Health(Body):
    status: Literal["ok"]


class Ready(Body):
    status: Literal["ready"]
    schema_: str | None = Field(alias="schema", description="the database's migration")


class ProblemItem(BaseModel):
    loc: str = Field(description="the field, e.g. schedule.schedulers[1].T_max")
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details, with the fields at fault in ``errors``."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemItem]
