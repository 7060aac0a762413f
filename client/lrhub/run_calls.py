"""`RunCalls`: one training run on the server, and the calls that read and drive it.

``lrhub.Run`` adds ``attach`` (the torch scheduler); the scheduler's own parts (driver,
prefetcher, optimizer binding) use the calls from here, so none of them depends on the
module that builds the scheduler.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol, TypeVar

from lrhub.identity import WorkerIdentity, detect_identity
from lrhub.types import Event, ReportResult, Revision, RunInfo, Value, Window
from lrhub.window_codec import WINDOW_ACCEPT


class Requester(Protocol):
    """What a run needs of ``lrhub.Client``: one request to the server, its JSON answer."""

    def request(self, method: str, path: str, **kwargs: Any) -> Any: ...


R = TypeVar("R", bound="RunCalls")


def metrics_dict(metrics: float | Mapping[str, float], name: str = "loss") -> dict[str, float]:
    """``{"loss": 0.5}`` from a number or a mapping of metric names to numbers."""
    items = dict(metrics) if isinstance(metrics, Mapping) else {name: metrics}
    if not items:
        raise ValueError("metrics must name at least one metric")
    out: dict[str, float] = {}
    for key, value in items.items():
        try:
            out[str(key)] = float(value)  # tensors and numpy scalars convert too
        except (TypeError, ValueError) as exc:
            raise TypeError(f"metric {key!r} must be a number, got {value!r}") from exc
    return out


def json_metric(value: float) -> float | str:
    """JSON has no NaN or infinity: send them as "NaN", "Infinity", "-Infinity"."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


class RunCalls:
    """A run stored on the server. ``run.info`` holds its last fetched record."""

    def __init__(self, client: Requester, info: RunInfo) -> None:
        self.client = client
        self.info = info

    def __repr__(self) -> str:
        i = self.info
        return f"Run(id={i.id}, name={i.name!r}, revision={i.revision}, status={i.status!r})"

    @property
    def id(self) -> int:
        return self.info.id

    @property
    def name(self) -> str:
        return self.info.name

    def _path(self, suffix: str = "") -> str:
        return f"/v1/runs/{self.info.id}{suffix}"

    def _worker(self, worker: WorkerIdentity | None) -> dict[str, Any]:
        return (worker or detect_identity()).to_json()

    def refresh(self: R) -> R:
        """Reload the run's record from the server (returns ``self``)."""
        self.info = RunInfo.from_json(self.client.request("GET", self._path()))
        return self

    def lr_at(self, step: int) -> Value:
        """The values at ``step`` (a read: it promises nothing to anyone)."""
        return Value.from_json(self.client.request("GET", self._path("/lr"), params={"step": step}))

    def window(self, start: int, count: int, **request: Any) -> Window:
        """Values for ``count`` steps from ``start``; the server may answer fewer (it stops
        before the next report point of a metric-driven run, and caps the length). Values
        through ``window.promised_through`` are promised: they never change afterwards,
        except by an explicit resume. Fetched in the compact binary form when the server
        offers it, else as JSON."""
        params = {"start": start, "count": count}
        headers = {"Accept": WINDOW_ACCEPT}  # an older server ignores it and answers JSON
        data = self.client.request(
            "GET", self._path("/window"), params=params, headers=headers, **request
        )
        return Window.from_json(data)

    def advance(self, count: int = 1, *, worker: WorkerIdentity | None = None) -> Value | Window:
        """Take the next step(s) of the run's shared counter (for asynchronous workers):
        a ``Value`` for one step, a ``Window`` for a block of ``count`` steps."""
        body = {"count": count, "worker": self._worker(worker)}
        data = self.client.request("POST", self._path("/advance"), json=body)
        return Value.from_json(data) if count == 1 else Window.from_json(data)

    def report(
        self,
        step: int,
        metrics: float | Mapping[str, float],
        *,
        metric_name: str = "loss",
        worker: WorkerIdentity | None = None,
        window: int | None = None,
        **request: Any,
    ) -> ReportResult:
        """Report metrics at ``step`` (the step the scheduler moves to with them). Every
        rank may report the same step: they share one decision. ``window`` caps the
        steps of the answer's window (the server's default otherwise)."""
        numbers = metrics_dict(metrics, metric_name)
        body: dict[str, Any] = {
            "step": step,
            "metrics": {name: json_metric(value) for name, value in numbers.items()},
            "worker": self._worker(worker),
        }
        if window is not None:
            body["window"] = window
        data = self.client.request("POST", self._path("/reports"), json=body, **request)
        return ReportResult.from_json(data)

    def report_progress(
        self,
        step: int,
        *,
        worker: WorkerIdentity | None = None,
        final: bool = False,
        **request: Any,
    ) -> int:
        """Record that this worker reached ``step``; returns the run's progress.

        ``final=True`` says the worker is exiting cleanly, so the next attach knows
        the run did not stop in a crash."""
        body = {"step": step, "worker": self._worker(worker), "final": final}
        data = self.client.request("POST", self._path("/progress"), json=body, **request)
        return int(data["step"])

    def resume(self: R, step: int, *, worker: WorkerIdentity | None = None) -> R:
        """Make ``step`` the run's progress (e.g. from a checkpoint): metric-driven state
        is rewound to the reports made up to ``step``."""
        body = {"step": step, "worker": self._worker(worker)}
        self.info = RunInfo.from_json(self.client.request("POST", self._path("/resume"), json=body))
        return self

    def archive(self: R) -> R:
        """Archive the run: hidden from lists by default, and every write to it is refused
        (``ConflictError``) until :meth:`unarchive`. Reads still work."""
        self.info = RunInfo.from_json(self.client.request("POST", self._path("/archive")))
        return self

    def unarchive(self: R) -> R:
        """Make an archived run listed and writable again."""
        self.info = RunInfo.from_json(self.client.request("POST", self._path("/unarchive")))
        return self

    def delete(self, *, force: bool = False) -> dict[str, Any]:
        """Delete the run with its whole history; what went (``{"id", "name", "removed"}``).

        The server refuses (``ConflictError``) while the run's workers were seen in the last
        few minutes, unless ``force``."""
        params = {"force": "true"} if force else None
        return self.client.request("DELETE", self._path(), params=params)  # type: ignore[no-any-return]

    def revise(
        self,
        schedule: dict[str, Any],
        *,
        from_step: int | None = None,
        continuous: bool = True,
        clock: str = "global",
        expected_revision: int | None = None,
    ) -> Revision:
        """Replace the schedule from ``from_step`` on (default: the first step nobody holds
        yet). ``continuous`` scales the new schedule so the LR does not jump; ``clock`` is
        "global" (the new spec sees global steps) or "restart" (its clock starts at 0).
        Fails with ``PreconditionFailedError`` when the run was revised since it was read
        (pass ``expected_revision`` to choose the revision you expect)."""
        expected = self.info.revision if expected_revision is None else expected_revision
        body = {
            "schedule": schedule,
            "from_step": from_step,
            "continue": continuous,
            "clock": clock,
        }
        data = self.client.request(
            "POST", self._path("/revisions"), json=body, headers={"If-Match": f'"{expected}"'}
        )
        if isinstance(data.get("run"), dict):
            self.info = RunInfo.from_json(data["run"])
        return Revision(
            revision=int(data["revision"]),
            effective_step=int(data["effective_step"]),
            schedule=schedule,
        )

    def revisions(self) -> list[Revision]:
        """Every revision of the schedule, oldest first."""
        data = self.client.request("GET", self._path("/revisions"))
        return [Revision.from_json(item) for item in data["items"]]

    def events(self, *, after: int | None = None, limit: int | None = None) -> list[Event]:
        """The run's history (created, attached, revised, resumed, plateau...)."""
        params: dict[str, Any] = {}
        if after is not None:
            params["after"] = after
        if limit is not None:
            params["limit"] = limit
        data = self.client.request("GET", self._path("/events"), params=params)
        return [Event.from_json(item) for item in data["items"]]

    def reports(self, metric: str | None = None) -> list[dict[str, Any]]:
        """The metric reports stored for the run."""
        params = {"metric": metric} if metric else None
        return list(self.client.request("GET", self._path("/reports"), params=params)["items"])

    def register_worker(
        self,
        base_lrs: list[float],
        base_momentums: list[float] | None,
        worker: WorkerIdentity | None = None,
    ) -> tuple[int, Value, bool | None]:
        """The attach call: stores base values on first use; returns the step to start
        at (the run's recorded progress), the values there, and whether the last worker
        exited cleanly (None when nothing was reported since the run (re)started)."""
        body = {
            "base_lrs": base_lrs,
            "base_momentums": base_momentums,
            "worker": self._worker(worker),
        }
        data = self.client.request("POST", self._path("/attach"), json=body)
        self.info = RunInfo.from_json(data["run"])
        return int(data["start_step"]), Value.from_json(data["values"]), data.get("clean_exit")
