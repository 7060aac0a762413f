"""Typed results returned by the lrhub client (plain dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _get(data: dict[str, Any], key: str, default: Any = None) -> Any:
    value = data.get(key, default)
    return default if value is None else value


@dataclass(frozen=True)
class Value:
    """The learning rates (and momentums) of every group at one step."""

    step: int
    lrs: list[float]
    momentums: list[float] | None
    revision: int

    @property
    def lr(self) -> float:
        """Group 0's learning rate."""
        return self.lrs[0]

    @property
    def momentum(self) -> float | None:
        """Group 0's momentum, or None when the schedule does not cycle momentum."""
        return self.momentums[0] if self.momentums else None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Value:
        lrs = data.get("lrs")
        if lrs is None:
            lrs = [data["lr"]]
        momentums = data.get("momentums")
        if momentums is None and data.get("momentum") is not None:
            momentums = [data["momentum"]]
        return cls(
            step=int(data["step"]),
            lrs=[float(v) for v in lrs],
            momentums=None if momentums is None else [float(v) for v in momentums],
            revision=int(_get(data, "revision", 0)),
        )


@dataclass(frozen=True)
class Window:
    """Values for ``count`` consecutive steps from ``start``; ``lrs[g][i]`` is group g at
    step ``start + i``. ``next_report`` is the step at which a metric must be reported
    before values from there on can be handed out. Only steps through
    ``promised_through`` (None: none of them) may be used for training."""

    start: int
    count: int
    revision: int
    lrs: list[list[float]]
    momentums: list[list[float]] | None
    next_report: int | None
    stop: bool
    promised_through: int | None = None

    @property
    def end(self) -> int:
        """The first step after the window."""
        return self.start + self.count

    @property
    def promised_end(self) -> int:
        """The first step after the promised part (``start`` when nothing is promised)."""
        if self.promised_through is None:
            return self.start
        return max(self.start, min(self.end, self.promised_through + 1))

    def value(self, step: int) -> Value:
        """The values at ``step`` (which must lie inside the window)."""
        i = step - self.start
        if not 0 <= i < self.count:
            raise IndexError(f"step {step} is outside the window [{self.start}, {self.end})")
        moms = None if self.momentums is None else [col[i] for col in self.momentums]
        return Value(step, [col[i] for col in self.lrs], moms, self.revision)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Window:
        count = int(data["count"])
        return cls(
            start=int(data["start"]),
            count=count,
            revision=int(_get(data, "revision", 0)),
            lrs=data["lrs"],
            momentums=data.get("momentums"),
            next_report=data.get("next_report"),
            stop=bool(data.get("stop", False)),
            # an older server has no such field: it promised the whole window
            promised_through=(
                int(data["promised_through"])
                if data.get("promised_through") is not None
                else (None if "promised_through" in data else int(data["start"]) + count - 1)
            ),
        )


@dataclass(frozen=True)
class RunInfo:
    """A run as stored by the server."""

    id: int
    name: str
    schedule: dict[str, Any]
    revision: int
    options: dict[str, Any]
    base_lrs: list[float] | None
    base_momentums: list[float] | None
    num_groups: int | None
    has_momentum: bool
    metric_driven: bool
    progress: int
    horizon: int
    status: str
    clean_exit: bool | None = None
    created_at: str | None = None
    updated_at: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunInfo:
        return cls(
            id=int(data["id"]),
            name=str(data["name"]),
            schedule=_get(data, "schedule", {}),
            revision=int(_get(data, "revision", 0)),
            options=_get(data, "options", {}),
            base_lrs=data.get("base_lrs"),
            base_momentums=data.get("base_momentums"),
            num_groups=data.get("num_groups"),
            has_momentum=bool(data.get("has_momentum", False)),
            metric_driven=bool(data.get("metric_driven", False)),
            progress=int(_get(data, "progress", 0)),
            horizon=int(_get(data, "horizon", -1)),
            status=str(_get(data, "status", "created")),
            clean_exit=data.get("clean_exit"),
            created_at=data.get("created_at"),
            updated_at=data.get("updated_at"),
        )


@dataclass(frozen=True)
class ReportResult:
    """The server's answer to a metric report."""

    step: int
    effective_step: int
    decision: dict[str, Any] | None
    stop: bool
    diverged: bool
    values: Value | None
    window: Window | None
    pending: dict[str, Any] | None = None  # the launch's other ranks have not all reported

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReportResult:
        values = data.get("values")
        window = data.get("window")
        return cls(
            pending=data.get("pending"),
            step=int(data["step"]),
            effective_step=int(_get(data, "effective_step", data["step"])),
            decision=data.get("decision"),
            stop=bool(data.get("stop", False)),
            diverged=bool(data.get("diverged", False)),
            values=Value.from_json(values) if values else None,
            window=Window.from_json(window) if window else None,
        )


@dataclass(frozen=True)
class Event:
    """One entry of a run's history (created, attached, revised, resumed, plateau...)."""

    id: int
    kind: str
    step: int | None
    data: dict[str, Any] = field(default_factory=dict)
    created_at: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        return cls(
            id=int(data["id"]),
            kind=str(data["kind"]),
            step=data.get("step"),
            data=_get(data, "data", {}),
            created_at=data.get("created_at"),
        )


@dataclass(frozen=True)
class Revision:
    """A stored revision of a run's schedule."""

    revision: int
    effective_step: int
    schedule: dict[str, Any]
    created_at: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Revision:
        return cls(
            revision=int(data["revision"]),
            effective_step=int(data["effective_step"]),
            schedule=_get(data, "schedule", {}),
            created_at=data.get("created_at"),
        )
