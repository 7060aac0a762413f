"""Replaying a run's stored reports into its metric state, from fold snapshots.

A run's folded state is the fold of its counted report groups in fold order (effective
step, step, version). At every multiple of ``SNAPSHOT_EVERY`` groups a write stores the folded
state as a fold snapshot (per revision), so a load, a resume or a late report folds only the groups
after the latest usable snapshot: O(reports after a snapshot), whatever the number stored.
The groups are read ``CHUNK_ROWS`` at a time and each chunk is folded on the evaluator, so
a replay never holds the event loop, whatever its length.

Snapshots stay exact because the writes keep them so: uncounting reports (a resume, a
restart) drops the snapshots that folded any of them (``RunRecords.uncount_reports``), and
a late report drops those it sorts before (:func:`drop_after`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from lrhub_service.db.records import RunRecords
from lrhub_service.engine import MetricState, Schedule
from lrhub_service.usecases.compute import UNKNOWN_US, Evaluator
from lrhub_service.usecases.folding import FoldedState, FoldGroup, FoldLog, group_reports

SNAPSHOT_EVERY = 2_000  # report groups between fold snapshots: a replay of ~15 ms of CPU
CHUNK_ROWS = 10_000  # report rows read and folded per evaluator job
Key = tuple[int, int, int]


def folded_json(folded: FoldedState) -> str:
    """``folded`` as JSON text (``folded_from_json`` reverses it)."""
    return orjson.dumps(
        {
            "initial": folded.initial.to_json(),
            "changes": folded.log.changes[: folded.changed],
            "states": [state.to_json() for state in folded.log.states[: folded.changed]],
            "last": folded.latest().to_json(),
            "last_key": list(folded.last_key),
            "max_report_step": folded.max_report_step,
            "groups": folded.groups,
        }
    ).decode()


def folded_from_json(text: str) -> FoldedState:
    """A folded state written by :func:`folded_json`."""
    data: dict[str, Any] = orjson.loads(text)
    log = FoldLog()
    log.changes = [int(step) for step in data["changes"]]
    log.states = [MetricState.from_json(state) for state in data["states"]]
    effective, step, version = (int(part) for part in data["last_key"])
    return FoldedState(
        initial=MetricState.from_json(data["initial"]),
        log=log,
        changed=len(log.changes),
        last=MetricState.from_json(data["last"]),
        last_key=(effective, step, version),
        max_report_step=int(data["max_report_step"]),
        groups=int(data["groups"]),
    )


async def store(records: RunRecords, run_id: int, revision: int, folded: FoldedState) -> None:
    """Store ``folded`` as a fold snapshot of ``revision``."""
    effective, step, version = folded.last_key
    await records.add_fold_snapshot(
        run_id=run_id,
        revision=revision,
        effective_step=effective,
        step=step,
        version=version,
        max_report_step=folded.max_report_step,
        groups=folded.groups,
        state=folded_json(folded),
    )


def due(folded: FoldedState) -> bool:
    """Whether a write that just folded one group in order should store a snapshot."""
    return folded.groups > 0 and folded.groups % SNAPSHOT_EVERY == 0


async def drop_after(records: RunRecords, run_id: int, key: Key) -> None:
    """A late report with fold key ``key``: drop the snapshots that lack it."""
    await records.drop_fold_snapshots_after(run_id, key)


async def replay(
    records: RunRecords,
    run_id: int,
    revision: int,
    schedule: Schedule,
    evaluator: Evaluator | None,
    *,
    before: Key | None = None,
    write: bool = False,
) -> tuple[FoldedState, int]:
    """The fold of the run's counted groups (those with key < ``before``), and how many
    groups were folded here: from the latest snapshot of ``revision`` on. With ``write``
    (inside a unit of work), a snapshot is stored every ``SNAPSHOT_EVERY`` groups."""
    snapshot = await records.fold_snapshot(run_id, revision, before)
    if snapshot is not None:
        folded = folded_from_json(snapshot)
        after: Key | None = folded.last_key
    else:
        folded, after = FoldedState(initial=schedule.initial_state()), None
    restored = folded.groups
    while True:
        rows = await records.counted_reports_between(run_id, after, before, CHUNK_ROWS)
        if not rows:
            break
        complete = len(rows) < CHUNK_ROWS
        if not complete:  # the last group may go on in the next chunk: leave it for then
            tail = tuple(rows[-1][:3])
            rows = [row for row in rows if tuple(row[:3]) != tail] or rows
        folded, boundaries = await _fold(evaluator, schedule, folded, rows)
        after = folded.last_key
        for boundary in boundaries if write else ():
            await store(records, run_id, revision, boundary)
        if complete:
            break
    return folded, folded.groups - restored


async def replay_groups(
    records: RunRecords, run_id: int, after: Key | None, before: Key | None
) -> tuple[list[FoldGroup], int]:
    """The counted groups with ``after < key < before``, in fold order, and their count
    (read ``CHUNK_ROWS`` rows at a time)."""
    rows: list[Any] = []
    while True:
        chunk = await records.counted_reports_between(run_id, after, before, CHUNK_ROWS)
        rows.extend(chunk)
        if len(chunk) < CHUNK_ROWS:
            break
        last: Key = tuple(chunk[-1][:3])  # type: ignore[assignment]
        tail = sum(1 for row in chunk if tuple(row[:3]) == last)
        if tail == len(chunk):  # one group fills the chunk: go on after it
            after = last
            continue
        del rows[len(rows) - tail :]  # the last group may go on: read it again, whole
        after = _before(last)
    groups = group_reports(rows)
    return groups, len(groups)


def _before(key: Key) -> Key:
    """The largest key below ``key`` (so that ``key`` itself is read again)."""
    effective, step, version = key
    return (effective, step, version - 1)


async def _fold(
    evaluator: Evaluator | None, schedule: Schedule, folded: FoldedState, rows: Sequence[Any]
) -> tuple[FoldedState, list[FoldedState]]:
    if evaluator is None:
        return _fold_rows(schedule, folded, rows)
    return await evaluator.run(UNKNOWN_US, "reports", _fold_rows, schedule, folded, rows)


def _fold_rows(
    schedule: Schedule, folded: FoldedState, rows: Sequence[Any]
) -> tuple[FoldedState, list[FoldedState]]:
    """``folded`` with the groups of ``rows`` (fold order) folded in, and the states it
    passed at each multiple of ``SNAPSHOT_EVERY`` groups (on the evaluator)."""
    groups = group_reports(rows)
    boundaries: list[FoldedState] = []
    while groups:
        room = SNAPSHOT_EVERY - folded.groups % SNAPSHOT_EVERY
        folded = folded.extended(schedule, groups[:room])[0]
        groups = groups[room:]
        if folded.groups % SNAPSHOT_EVERY == 0:
            boundaries.append(folded)
    return folded, boundaries
