"""The PostgreSQL read cache: run versions kept per process, dropped by LISTEN/NOTIFY."""

from __future__ import annotations

import math
import time
from typing import Any

import psycopg
import pytest
from api_support import COSINE, make_run

CONSTANT = {"type": "ConstantLR", "factor": 0.5, "total_iters": 10**6}
WAIT_S = 5.0


def _postgres_only(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite reads a local file every time")


def _cache(api: Any) -> Any:
    notified = api.app.state.hub.fast.notified
    assert notified is not None
    return notified


def _wait_live(api: Any) -> None:
    deadline = time.monotonic() + WAIT_S
    while not _cache(api).live:
        assert time.monotonic() < deadline, "the change listener did not connect"
        time.sleep(0.01)


def _until_cached(api: Any, rid: int) -> None:
    """Read until the versions are cached (a notification racing a read keeps it out)."""
    deadline = time.monotonic() + WAIT_S
    while _cache(api).get(rid) is None:
        assert time.monotonic() < deadline, "reads never got cached"
        assert api.get(f"/v1/runs/{rid}/lr", params={"step": 60}).json()["revision"] == 1


def _revise(api: Any, rid: int) -> None:
    answer = api.post(f"/v1/runs/{rid}/revisions", json={"schedule": CONSTANT, "continue": False})
    assert answer.status_code == 201, answer.text


def _eventually_revision(api: Any, rid: int, revision: int) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while True:
        value = api.get(f"/v1/runs/{rid}/lr", params={"step": 60}).json()
        if value["revision"] == revision or time.monotonic() > deadline:
            return dict(value)
        time.sleep(0.005)


def test_reads_are_cached_and_every_write_invalidates(api_factory: Any, database_url: str) -> None:
    _postgres_only(database_url)
    first, second = api_factory(), api_factory()
    _wait_live(first)
    _wait_live(second)
    rid = make_run(first, COSINE)["id"]
    _until_cached(second, rid)  # served from memory from now on
    _revise(first, rid)
    mine = first.get(f"/v1/runs/{rid}/lr", params={"step": 60}).json()
    assert mine["revision"] == 2  # the writing process sees its write at once
    theirs = _eventually_revision(second, rid, 2)  # the other one once notified
    assert theirs["revision"] == 2 and math.isclose(theirs["lr"], 0.05)
    first.post(f"/v1/runs/{rid}/resume", json={"step": 0})
    deadline = time.monotonic() + WAIT_S
    while _cache(second).get(rid) is not None:  # the resume's notification drops it
        assert time.monotonic() < deadline
        time.sleep(0.005)


def test_without_the_listener_reads_query_the_database(api_factory: Any, database_url: str) -> None:
    _postgres_only(database_url)
    first, second = api_factory(), api_factory()
    _wait_live(second)
    rid = make_run(first, COSINE)["id"]
    _until_cached(second, rid)
    cache = _cache(second)
    lost_pid = cache.server_pid
    with psycopg.connect(database_url, autocommit=True) as admin:  # cut the listener off
        admin.execute("SELECT pg_terminate_backend(%s)", (lost_pid,))
    deadline = time.monotonic() + WAIT_S
    while not (cache.live and cache.server_pid != lost_pid):  # it reconnects by itself
        assert time.monotonic() < deadline, "the listener did not come back"
        time.sleep(0.01)
    assert cache.get(rid) is None  # what it knew before the loss was dropped
    second.portal.call(cache.close)  # now no listener at all: reads must query
    assert not cache.live
    _revise(first, rid)
    value = second.get(f"/v1/runs/{rid}/lr", params={"step": 60}).json()
    assert value["revision"] == 2 and math.isclose(value["lr"], 0.05)


def test_a_window_never_promises_from_stale_versions(api_factory: Any, database_url: str) -> None:
    _postgres_only(database_url)
    first, second = api_factory(), api_factory()
    _wait_live(second)
    rid = make_run(first, COSINE)["id"]
    _until_cached(second, rid)
    cache = _cache(second)
    stale = cache.get(rid)
    _revise(first, rid)
    deadline = time.monotonic() + WAIT_S
    while cache.get(rid) is not None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    cache._items[rid] = stale  # as if the notification were still on its way
    window = second.get(f"/v1/runs/{rid}/window", params={"start": 0, "count": 80})
    assert window.status_code == 200, window.text
    body = window.json()
    assert body["revision"] == 2 and body["lrs"][0][60] == 0.05  # not the old cosine
    assert first.get(f"/v1/runs/{rid}").json()["horizon"] == 79
