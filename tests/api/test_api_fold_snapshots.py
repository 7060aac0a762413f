"""Fold snapshots: resume and a late report replay only the reports after a snapshot.

A run's metric state is the fold of its stored reports. The million-report test stores
its reports in bulk (SQL, as a long run would have accumulated them), lets one write fold
them once (storing a snapshot every ``SNAPSHOT_EVERY`` groups), then asserts on counts of
work: a resume and a late report each fold at most one snapshot interval of stored groups,
not a million. The small tests check that a state rebuilt from snapshots equals a fold of
every report, across a resume and a late report. (Wall-clock figures: ``python -m bench``,
the "resume with 1,000,000 reports" row.)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url
from support.runs import create_attached_run

from lrhub_service.usecases.replay import SNAPSHOT_EVERY

PLATEAU = {"type": "ReduceLROnPlateau", "patience": 3, "factor": 0.5, "base_lr": 0.1}
LAG = 10  # each report took effect 10 steps on (the horizon was ahead of it)
COLUMNS = (
    "run_id",
    "step",
    "metric",
    "value",
    "effective_step",
    "version",
    "counted",
    "created_at",
)


def loss(step: int) -> float:
    """A loss that plateaus now and then, so the plateau rule decides along the way."""
    return 1.0 / (1 + step // 50)


def _rows(run_id: int, steps: range) -> Iterator[tuple[Any, ...]]:
    now = datetime.now(timezone.utc)
    for step in steps:
        yield (run_id, step, "loss", loss(step), step + LAG, step, True, now)


def store_reports(database_url: str, run_id: int, count: int) -> None:
    """Insert ``count`` counted reports at steps 1..count in bulk (effective ``LAG`` steps
    later); move the run past them."""
    url = make_url(database_url)
    rows = _rows(run_id, range(1, count + 1))
    update = "UPDATE runs SET state_version = %s, progress = %s, horizon = %s WHERE id = %s"
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(str(url.database)) as conn:
            marks = ", ".join("?" * len(COLUMNS))
            conn.executemany(f"INSERT INTO reports ({', '.join(COLUMNS)}) VALUES ({marks})", rows)
            conn.execute(update.replace("%s", "?"), (count + 1, count, count + LAG, run_id))
        return
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as conn, conn.cursor() as cursor:
        with cursor.copy(f"COPY reports ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(update, (count + 1, count, count + LAG, run_id))


def make_run(api: Any, name: str) -> int:
    return create_attached_run(api, name, PLATEAU)


def cached(api: Any, run_id: int) -> Any:
    """The compiled run this process keeps for ``run_id`` (what the last write produced)."""
    item = api.app.state.hub.cache.peek(run_id)
    assert item is not None
    return item


def report(api: Any, run_id: int, step: int) -> dict[str, Any]:
    answer = api.post(f"/v1/runs/{run_id}/reports", json={"step": step, "metrics": {"loss": 9.0}})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def lrs(api: Any, run_id: int, start: int) -> list[float]:
    window = api.get(f"/v1/runs/{run_id}/window", params={"start": start, "count": 64})
    assert window.status_code == 200, window.text
    return window.json()["lrs"][0]  # type: ignore[no-any-return]


@pytest.mark.slow
def test_resume_and_a_late_report_fold_only_the_reports_after_a_snapshot(
    api_factory: Any, database_url: str
) -> None:
    api = api_factory()
    run_id = make_run(api, "million")
    count = 1_000_000
    store_reports(database_url, run_id, count)

    report(api, run_id, count + 1)  # the first write folds the million once, storing snapshots
    resumed = api.post(f"/v1/runs/{run_id}/resume", json={"step": count - 5})
    assert resumed.status_code == 200, resumed.text
    assert 0 < cached(api, run_id).replayed <= SNAPSHOT_EVERY  # not a million

    late = report(api, run_id, count - 4)  # sorts before the kept reports of steps > count-14
    assert late["effective_step"] == count - 4
    assert 0 < cached(api, run_id).replayed <= SNAPSHOT_EVERY + 1
    assert cached(api, run_id).folded.groups == count - 5 + 1
    report(api, run_id, count + LAG)  # in order: folds one group
    assert cached(api, run_id).replayed == 0


def test_a_state_from_snapshots_equals_a_fold_of_every_report(
    api_factory: Any, database_url: str
) -> None:
    api = api_factory()
    run_id = make_run(api, "snapshots")
    count = 2 * SNAPSHOT_EVERY + 500
    store_reports(database_url, run_id, count)
    report(api, run_id, count + 1)
    resumed = api.post(f"/v1/runs/{run_id}/resume", json={"step": SNAPSHOT_EVERY + 100})
    assert resumed.status_code == 200, resumed.text
    assert 0 < cached(api, run_id).replayed <= 100  # from the snapshot at SNAPSHOT_EVERY groups
    late = report(api, run_id, SNAPSHOT_EVERY + 101)  # sorts before the steps > SE + 90
    assert late["effective_step"] == SNAPSHOT_EVERY + 101
    from_snapshot = cached(api, run_id)
    assert 0 < from_snapshot.replayed <= 101
    values = lrs(api, run_id, SNAPSHOT_EVERY + 102)

    other = api_factory(url=None)  # another process: no cache; drop the snapshots it could use
    _drop_snapshots(database_url)
    assert lrs(other, run_id, SNAPSHOT_EVERY + 102) == values
    full = cached(other, run_id)
    assert full.replayed == SNAPSHOT_EVERY + 101  # every counted report, folded again
    assert full.folded.latest() == from_snapshot.folded.latest()
    assert (
        full.folded.log.changes[: full.folded.changed]
        == (from_snapshot.folded.log.changes[: from_snapshot.folded.changed])
    )


def _drop_snapshots(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(str(url.database)) as conn:
            conn.execute("DELETE FROM fold_snapshots")
        return
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as conn:
        conn.execute("DELETE FROM fold_snapshots")


def test_a_report_in_order_stores_a_snapshot_at_each_interval(
    api_factory: Any, database_url: str
) -> None:
    api = api_factory()
    run_id = make_run(api, "in-order")
    store_reports(database_url, run_id, SNAPSHOT_EVERY - 1)
    assert _snapshot_count(database_url) == 0
    report(api, run_id, SNAPSHOT_EVERY + LAG)  # the interval's last group, folded in order
    assert cached(api, run_id).folded.groups == SNAPSHOT_EVERY
    assert _snapshot_count(database_url) == 1
    resumed = api.post(f"/v1/runs/{run_id}/resume", json={"step": SNAPSHOT_EVERY + LAG})
    assert resumed.status_code == 200, resumed.text
    assert cached(api, run_id).replayed == 0  # everything came from the snapshot
    resumed = api.post(f"/v1/runs/{run_id}/resume", json={"step": SNAPSHOT_EVERY - 2})
    assert resumed.status_code == 200, resumed.text
    assert _snapshot_count(database_url) == 0  # it folded reports that no longer count
    assert cached(api, run_id).replayed == SNAPSHOT_EVERY - 2


def _snapshot_count(database_url: str) -> int:
    url = make_url(database_url)
    query = "SELECT count(*) FROM fold_snapshots"
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(str(url.database)) as conn:
            return int(conn.execute(query).fetchone()[0])
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain) as conn:
        row = conn.execute(query).fetchone()
        assert row is not None
        return int(row[0])
