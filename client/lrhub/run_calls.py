"""`RunCalls`: one training run on the server, and the calls that read and drive it.

``lrhub.Run`` adds ``attach`` (the torch scheduler); the scheduler's own parts (driver,
prefetcher, optimizer binding) use the calls from here, so none of them depends on the
module that builds the scheduler.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Protocol, TypeVar

from lrhub.errors import BadRequestError
from lrhub.identity import WorkerIdentity, detect_identity
from lrhub.metrics import json_metric, metrics_dict
from lrhub.types import Event, ReportResult, Revision, RunInfo, Value, Window
from lrhub.window_codec import WINDOW_ACCEPT


class Requester(Protocol):
    """What a run needs of ``lrhub.Client``: one request to the server, its JSON answer."""

    def request(self, method: str, path: str, **kwargs: Any) -> Any: ...


R = TypeVar("R", bound="RunCalls")
POLL_FIRST_S = 0.01  # a pending report asks again after this pause, doubling...
POLL_MAX_S = 0.2  # ...up to this one


class RunCalls:
    """A run stored on the server. ``run.info`` holds its last fetched record."""

    def __init__(self, client: Requester, info: RunInfo) -> None:
        self.client = client
        self.info = info
        self._send_launch = True  # False after a server older than launches refused one

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
        data = (worker or detect_identity()).to_json()
        if not self._send_launch:
            data.pop("launch", None)
        return data

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
        wait: bool = True,
        **request: Any,
    ) -> ReportResult:
        """Report metrics at ``step`` (the step the scheduler moves to with them); ``window``
        caps the answer's window. The ranks of a launch decide a report point on the mean
        of their metrics: until all reported (or the server's wait ran out) the answer is
        ``pending``, and with ``wait`` this call asks again until the decision comes."""
        numbers = metrics_dict(metrics, metric_name)
        body: dict[str, Any] = {
            "step": step,
            "metrics": {name: json_metric(value) for name, value in numbers.items()},
            "worker": self._worker(worker),
        }
        if window is not None:
            body["window"] = window
        result = ReportResult.from_json(
            self.client.request("POST", self._path("/reports"), json=body, **request)
        )
        if result.pending is None or not wait:
            return result
        deadline = time.monotonic() + float(result.pending.get("wait_s", 0.0)) + 1.0
        pause = POLL_FIRST_S
        while result.pending is not None and time.monotonic() < deadline:
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(POLL_MAX_S, pause * 2)
            data = self.client.request("POST", self._path("/reports"), json=body, **request)
            result = ReportResult.from_json(data)
        return result

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
        try:
            data = self.client.request("POST", self._path("/attach"), json=body)
        except BadRequestError as exc:  # a server older than launches: attach without one
            if "launch" not in body["worker"] or not any(
                str(e.get("loc", "")).endswith("worker.launch") for e in exc.errors
            ):
                raise
            self._send_launch = False
            return self.register_worker(base_lrs, base_momentums, worker)
        self.info = RunInfo.from_json(data["run"])
        return int(data["start_step"]), Value.from_json(data["values"]), data.get("clean_exit")
