"""Use-cases for values: one step, a window, the shared counter, progress."""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from lrhub_service.db.run_store import Freshness, Refused, Stored
from lrhub_service.usecases import unit_of_work
from lrhub_service.usecases.compiled import EVALUATION_ERRORS, CompiledRun
from lrhub_service.usecases.compute import affordable_steps, request_us
from lrhub_service.usecases.errors import Unavailable, Unevaluable, run_not_found
from lrhub_service.usecases.hub import Hub
from lrhub_service.usecases.idempotency import IdemKey, mismatch
from lrhub_service.usecases.unit_of_work import RunWork
from lrhub_service.usecases.workers import touch_worker

STALE_RETRIES = 8


def unevaluable(compiled: CompiledRun, start: int, count: int, exc: Exception) -> Unevaluable:
    """The 422 for a range that failed to evaluate, naming its first bad step."""
    bad = compiled.first_bad_step(start, count)
    step, reason = bad if bad is not None else (start, str(exc))
    return Unevaluable(compiled.run_id, step, reason)


def value_json(compiled: CompiledRun, step: int) -> dict[str, Any]:
    """The public ``Value`` at ``step``."""
    values = compiled.schedule.values(step, compiled.folded.at(step))
    lrs = list(values.lrs)
    momentums = list(values.momentums) if values.momentums is not None else None
    return {
        "step": step,
        "lr": lrs[0],
        "lrs": lrs,
        "momentum": momentums[0] if momentums else None,
        "momentums": momentums,
        "revision": compiled.revision,
    }


def window_body(compiled: CompiledRun, start: int, count: int, horizon: int) -> dict[str, Any]:
    """The public ``Window`` of exactly ``count`` steps from ``start``, less its promise;
    ``lrs`` and ``momentums`` are numpy columns (``groups x count``)."""
    lrs, momentums = compiled.arrays(start, count)
    return {
        "start": start,
        "count": count,
        "revision": compiled.revision,
        "lrs": lrs,
        "momentums": momentums,
        "next_report": compiled.next_report(start, horizon),
        "stop": compiled.folded.at(start).stopped,
    }


def window_json(
    compiled: CompiledRun, start: int, count: int, horizon: int, promised_through: int | None
) -> dict[str, Any]:
    """The public ``Window`` of exactly ``count`` steps from ``start`` (list columns)."""
    body = window_body(compiled, start, count, horizon)
    body["lrs"] = body["lrs"].tolist()
    if body["momentums"] is not None:
        body["momentums"] = body["momentums"].tolist()
    body["promised_through"] = promised_through
    return body


class WindowForm(Protocol):
    """How a window is sent: ``render`` runs with the evaluation (off the event loop when
    costly) and is cached per compiled run; ``finish`` adds the per-request promise."""

    name: str

    def render(self, body: dict[str, Any]) -> Any: ...

    def finish(self, rendered: Any, promised_through: int | None) -> bytes: ...


class JsonWindow:
    """The ``Window`` as JSON (the default form)."""

    name = "json"

    def render(self, body: dict[str, Any]) -> bytes:
        return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)

    def finish(self, rendered: bytes, promised_through: int | None) -> bytes:
        through = b"null" if promised_through is None else str(promised_through).encode()
        return rendered[:-1] + b',"promised_through":' + through + b"}"


JSON_WINDOW = JsonWindow()


def window_count(compiled: CompiledRun, start: int, count: int, horizon: int = -1) -> int:
    """``count`` clipped so a metric-driven window stops before its next report point."""
    next_report = compiled.next_report(start, horizon)
    if next_report is not None:
        count = min(count, next_report - start)
    return max(count, 1)


async def _freshness(hub: Hub, run_id: int) -> Freshness:
    row = await hub.fast.freshness(run_id)
    if row is None:
        raise run_not_found(run_id)
    return row


async def read_value(hub: Hub, run_id: int, step: int) -> dict[str, Any]:
    """Values at one step (a read: promises nothing, moves no horizon)."""
    row = await _freshness(hub, run_id)
    compiled = await hub.compiled_fresh(run_id, row.revision, row.state_version)
    try:
        return await hub.evaluator.run(request_us(compiled, 1), "step", value_json, compiled, step)
    except EVALUATION_ERRORS as exc:
        raise Unevaluable(run_id, step, str(exc)) from exc


def _window_key(
    compiled: CompiledRun, start: int, span: int, horizon: int, form: WindowForm
) -> tuple[int, int, int | None, str]:
    return (start, span, compiled.next_report(start, horizon), form.name)


def window_payload(
    compiled: CompiledRun, start: int, count: int, horizon: int, form: WindowForm = JSON_WINDOW
) -> Any:
    """The window rendered in ``form``, cached per compiled run (revision and state
    version) and form: every rank asks for the same windows."""
    span = window_count(compiled, start, count, horizon)
    key = _window_key(compiled, start, span, horizon, form)
    payload = compiled.windows.get(key)
    if payload is None:
        try:
            payload = form.render(window_body(compiled, start, span, horizon))
        except EVALUATION_ERRORS as exc:
            raise unevaluable(compiled, start, span, exc) from exc
        compiled.remember_window(key, payload)
    return payload


def promised_part(start: int, last: int, horizon: int) -> int | None:
    """The last step of ``[start, last]`` that is promised when the horizon is ``horizon``."""
    return min(last, horizon) if start <= horizon else None


async def read_window(
    hub: Hub,
    run_id: int,
    start: int,
    count: int,
    *,
    may_promise: bool,
    form: WindowForm = JSON_WINDOW,
) -> tuple[bytes, int]:
    """A rendered window and its revision; a read, except that it may promise its values.

    It promises (extends the horizon to its last step) only when ``may_promise`` (the caller
    has the write scope, or no tokens are configured) and the window continues the promised
    range (``start <= horizon + 1``), and only while the run is still at the revision and
    state version the values were computed from; otherwise the window is recomputed. The
    answer's ``promised_through`` says the last step of the window that is promised.
    ``form`` renders it (JSON by default).
    """
    count = min(count, hub.settings.window_max)
    for _attempt in range(STALE_RETRIES):
        row = await _freshness(hub, run_id)
        compiled = await hub.compiled_fresh(run_id, row.revision, row.state_version)
        span = window_count(compiled, start, count, row.horizon)
        span = affordable_steps(compiled, span)
        payload = compiled.windows.get(_window_key(compiled, start, span, row.horizon, form))
        if payload is None:  # not rendered yet (ranks ask for the same windows): evaluate
            cost = request_us(compiled, span)
            payload = await hub.evaluator.run(
                cost, "count", window_payload, compiled, start, span, row.horizon, form
            )
        last = start + span - 1
        if last <= row.horizon or not may_promise or start > row.horizon + 1:
            return form.finish(payload, promised_part(start, last, row.horizon)), row.revision
        horizon = await unit_of_work.promise(hub, run_id, last, row.revision, row.state_version)
        if horizon is not None:
            return form.finish(payload, promised_part(start, last, horizon)), row.revision
        hub.fast.forget(run_id)  # the run moved on: read its versions from the database
    raise Unavailable("the run changed too often while reading a window; retry", loc="run_id")


async def advance(hub: Hub, run_id: int, count: int, idem: IdemKey | None = None) -> dict[str, Any]:
    """Atomically take the next ``count`` steps of the shared counter and return their values.

    ``count`` is capped at the window length; the answer says how many steps it holds. A
    block holding a step the schedule cannot evaluate is refused and takes nothing (the
    store checks each block before answering). With an idempotency key, a retry gets the
    block its first attempt took (re-rendered: handed-out steps keep their values, except
    across a resume or restart).
    """
    taken = min(count, hub.settings.advance_max)
    known = hub.cache.peek(run_id)
    if known is not None:  # within the request budget for what the run costs to evaluate
        taken = affordable_steps(known, taken)
    outcome = await unit_of_work.take_steps(hub, run_id, taken, idem)
    if isinstance(outcome, Refused):
        raise Unevaluable(run_id, outcome.step, outcome.reason)
    if isinstance(outcome, Stored):
        assert idem is not None
        if outcome.fingerprint != idem.fingerprint:
            raise mismatch(idem)
        block = orjson.loads(outcome.body)
        start, taken = int(block["first_step"]), int(block["count"])
        row = await _freshness(hub, run_id)
        compiled = await hub.compiled_fresh(run_id, row.revision, row.state_version)
    else:
        start = outcome.first_step
        compiled = await hub.compiled_fresh(run_id, outcome.revision, outcome.state_version)
    cost = request_us(compiled, taken)
    try:
        if count == 1:
            return await hub.evaluator.run(cost, "count", value_json, compiled, start)
        return await hub.evaluator.run(
            cost, "count", window_json, compiled, start, taken, -1, start + taken - 1
        )
    except EVALUATION_ERRORS as exc:  # a replay across a revision: nothing is taken here
        raise unevaluable(compiled, start, taken, exc) from exc


async def report_progress(
    hub: Hub,
    run_id: int,
    step: int,
    worker: dict[str, Any] | None,
    *,
    final: bool = False,
    idem: IdemKey | None = None,
) -> dict[str, Any]:
    """A worker reached ``step``: progress becomes the largest step reported, and the promise
    covers it (a worker that held its value through an outage resyncs this way).

    ``final`` says the worker exited cleanly; any other progress says one is still training.
    """

    async def act(work: RunWork) -> tuple[int, dict[str, Any]]:
        progress = await work.rows.raise_progress(run_id, step, clean_exit=final)
        await work.rows.raise_horizon(run_id, step)  # the worker holds value[step]: it stands
        await touch_worker(work.records, run_id, worker, step)
        return 200, {"step": progress}

    return (await unit_of_work.write(hub, run_id, idem, act))[1]  # type: ignore[no-any-return]
