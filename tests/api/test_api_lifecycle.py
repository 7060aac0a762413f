"""Run lifecycle against a real ``lrhub serve`` on both databases: archive, unarchive, delete."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from api_support import COSINE, PLATEAU, assert_problem
from sqlalchemy import create_engine, pool, text

from lrhub_service.db.urls import sync_url

WORKER = {"rank": 0, "world_size": 1, "host": "node1", "pid": 4242}
WRITER = "writer-secret-0123456789"
READER = "reader-secret-0123456789"


@pytest.fixture
def server(live_server: Any, database_url: str) -> Iterator[httpx.Client]:
    """A real server on this test's database, and an HTTP client for it."""
    live = live_server(database_url)
    with httpx.Client(base_url=live.url, timeout=30) as client:
        yield client


def make_run(client: httpx.Client, name: str, schedule: dict[str, Any] = COSINE) -> dict[str, Any]:
    created = client.post("/v1/runs", json={"name": name, "schedule": schedule})
    assert created.status_code == 201, created.text
    run_id = created.json()["id"]
    attached = client.post(f"/v1/runs/{run_id}/attach", json={"base_lrs": [0.1], "worker": WORKER})
    assert attached.status_code == 200, attached.text
    return attached.json()["run"]  # type: ignore[no-any-return]


def names(client: httpx.Client, archived: str | None = None) -> list[str]:
    params = {"archived": archived} if archived else {}
    response = client.get("/v1/runs", params=params)
    assert response.status_code == 200, response.text
    return [run["name"] for run in response.json()["items"]]


def row_counts(database_url: str, run_id: int) -> dict[str, int]:
    """Rows that still refer to the run, read straight from the database."""
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            counts = {
                table: conn.execute(
                    text(f"SELECT count(*) FROM {table} WHERE {column} = :id"), {"id": run_id}
                ).scalar_one()
                for table, column in (
                    ("runs", "id"),
                    ("revisions", "run_id"),
                    ("reports", "run_id"),
                    ("events", "run_id"),
                    ("workers", "run_id"),
                )
            }
            counts["idempotency_keys"] = conn.execute(
                text("SELECT count(*) FROM idempotency_keys WHERE scope LIKE :scope"),
                {"scope": f"%:{run_id}"},
            ).scalar_one()
            return counts
    finally:
        engine.dispose()


def writes(run_id: int, name: str) -> list[tuple[str, dict[str, Any]]]:
    """Every kind of write to a run, each valid for an active run."""
    return [
        (f"/v1/runs/{run_id}/attach", {"base_lrs": [0.1], "worker": WORKER}),
        (f"/v1/runs/{run_id}/advance", {"count": 1}),
        (f"/v1/runs/{run_id}/progress", {"step": 3, "worker": WORKER}),
        (f"/v1/runs/{run_id}/reports", {"step": 2, "metrics": {"loss": 1.0}}),
        (f"/v1/runs/{run_id}/resume", {"step": 1}),
        (f"/v1/runs/{run_id}/revisions", {"schedule": {"type": "ConstantLR", "factor": 0.5}}),
        ("/v1/runs", {"name": name, "schedule": COSINE, "restart": True}),
    ]


def test_archive_hides_the_run_and_keeps_it_readable(server: httpx.Client) -> None:
    kept = make_run(server, "kept")
    run = make_run(server, "old")
    archived = server.post(f"/v1/runs/{run['id']}/archive")
    assert archived.status_code == 200, archived.text
    assert archived.json()["status"] == "archived" and archived.json()["archived_at"]

    assert names(server) == [kept["name"]]
    assert names(server, "include") == ["old", "kept"]
    assert names(server, "only") == ["old"]
    assert_problem(server.get("/v1/runs", params={"archived": "sometimes"}), 422, "archived")

    run_id = run["id"]
    assert server.get(f"/v1/runs/{run_id}").json()["status"] == "archived"
    assert server.get("/v1/runs/by-name/old").json()["id"] == run_id
    assert server.get(f"/v1/runs/{run_id}/lr", params={"step": 5}).status_code == 200
    window = server.get(f"/v1/runs/{run_id}/window", params={"start": 0, "count": 4})
    assert window.status_code == 200, window.text
    for read in ("revisions", "events", "reports"):
        assert server.get(f"/v1/runs/{run_id}/{read}").status_code == 200
    kinds = [e["kind"] for e in server.get(f"/v1/runs/{run_id}/events").json()["items"]]
    assert kinds[-1] == "archived"
    metrics = server.get("/metrics").text
    assert 'lrhub_runs{status="archived"} 1.0' in metrics
    assert 'lrhub_runs{status="running"} 1.0' in metrics


def test_every_write_to_an_archived_run_is_a_409_naming_unarchive(server: httpx.Client) -> None:
    run = make_run(server, "frozen", PLATEAU)
    answered = {"Idempotency-Key": "progress-before-archive"}
    progress = {"step": 0, "worker": WORKER}
    first = server.post(f"/v1/runs/{run['id']}/progress", json=progress, headers=answered)
    assert first.status_code == 200, first.text
    before = server.get(f"/v1/runs/{run['id']}").json()
    assert server.post(f"/v1/runs/{run['id']}/archive").status_code == 200
    # a retry of a write answered before the archive replays its answer; it writes nothing
    retried = server.post(f"/v1/runs/{run['id']}/progress", json=progress, headers=answered)
    assert retried.status_code == 200 and retried.json() == first.json()
    for path, body in writes(run["id"], "frozen"):
        key = {"Idempotency-Key": uuid.uuid4().hex}
        problem = assert_problem(server.post(path, json=body, headers=key), 409)
        assert "archived" in problem["detail"] and "unarchive" in problem["detail"], path

    assert server.post(f"/v1/runs/{run['id']}/archive").status_code == 200  # no change
    unarchived = server.post(f"/v1/runs/{run['id']}/unarchive")
    assert unarchived.status_code == 200, unarchived.text
    after = unarchived.json()
    assert after["status"] == before["status"] == "running" and after["archived_at"] is None
    # nothing was written while archived: the counter and progress did not move
    for field in ("next_step", "progress", "horizon", "revision"):
        assert after[field] == before[field], field
    advanced = server.post(f"/v1/runs/{run['id']}/advance", json={"count": 1})
    assert advanced.status_code == 200 and advanced.json()["step"] == before["next_step"]
    kinds = [e["kind"] for e in server.get(f"/v1/runs/{run['id']}/events").json()["items"]]
    assert kinds.count("archived") == 1 and kinds[-1] == "unarchived"


def test_get_or_create_on_an_archived_name_says_so(server: httpx.Client) -> None:
    run = make_run(server, "shelved")
    server.post(f"/v1/runs/{run['id']}/progress", json={"step": 40})
    assert server.post(f"/v1/runs/{run['id']}/archive").status_code == 200
    for restart in (False, True):
        again = server.post(
            "/v1/runs", json={"name": "shelved", "schedule": COSINE, "restart": restart}
        )
        problem = assert_problem(again, 409, "name")
        assert f"/v1/runs/{run['id']}/unarchive" in problem["detail"]
        assert "another name" in problem["detail"]
    assert server.get(f"/v1/runs/{run['id']}").json()["progress"] == 40
    assert names(server, "include") == ["shelved"]


def test_delete_removes_the_run_and_its_history(server: httpx.Client, database_url: str) -> None:
    run = make_run(server, "doomed", PLATEAU)
    run_id = run["id"]
    key = {"Idempotency-Key": "create-doomed-once"}
    created_again = server.post(
        "/v1/runs", json={"name": "doomed", "schedule": PLATEAU}, headers=key
    )
    assert created_again.status_code == 200
    server.post(f"/v1/runs/{run_id}/advance", json={"count": 2}, headers={"Idempotency-Key": "a1"})
    server.post(f"/v1/runs/{run_id}/reports", json={"step": 1, "metrics": {"loss": 2.0}})
    before = row_counts(database_url, run_id)
    assert all(before[t] >= 1 for t in ("runs", "revisions", "reports", "events", "workers"))
    assert before["idempotency_keys"] >= 1

    refused = assert_problem(server.delete(f"/v1/runs/{run_id}"), 409, "force")
    assert "1 worker(s)" in refused["detail"] and "force=true" in refused["detail"]
    assert server.get(f"/v1/runs/{run_id}").status_code == 200  # still there

    deleted = server.delete(f"/v1/runs/{run_id}", params={"force": "true"})
    assert deleted.status_code == 200, deleted.text
    body = deleted.json()
    assert body["id"] == run_id and body["deleted"] is True and body["removed"]["reports"] >= 1
    assert set(row_counts(database_url, run_id).values()) == {0}
    assert_problem(server.get(f"/v1/runs/{run_id}"), 404)
    assert_problem(server.delete(f"/v1/runs/{run_id}"), 404)
    assert "lrhub_runs_deleted_total 1.0" in server.get("/metrics").text

    # the name is free again, and the old create key no longer replays the deleted run
    fresh = server.post("/v1/runs", json={"name": "doomed", "schedule": PLATEAU}, headers=key)
    assert fresh.status_code == 201 and fresh.json()["id"] != run_id
    assert fresh.json()["progress"] == 0


def test_delete_without_recent_workers_needs_no_force(live_server: Any, database_url: str) -> None:
    live = live_server(database_url, env={"LRHUB_DELETE_ACTIVE_S": "0"})
    with httpx.Client(base_url=live.url, timeout=30) as client:
        run = make_run(client, "idle")
        assert client.post(f"/v1/runs/{run['id']}/archive").status_code == 200
        deleted = client.delete(f"/v1/runs/{run['id']}")  # archived runs can be deleted
        assert deleted.status_code == 200, deleted.text
        assert deleted.json()["forced"] is False
        assert names(client, "include") == []


def test_lifecycle_needs_the_write_scope(live_server: Any, database_url: str) -> None:
    live = live_server(database_url, env={"LRHUB_TOKENS": f"ci:write:{WRITER},ro:read:{READER}"})
    writer = {"Authorization": f"Bearer {WRITER}"}
    reader = {"Authorization": f"Bearer {READER}"}
    with httpx.Client(base_url=live.url, timeout=30) as client:
        created = client.post(
            "/v1/runs", json={"name": "guarded", "schedule": COSINE}, headers=writer
        )
        run_id = created.json()["id"]
        for method, path in (
            ("POST", f"/v1/runs/{run_id}/archive"),
            ("POST", f"/v1/runs/{run_id}/unarchive"),
            ("DELETE", f"/v1/runs/{run_id}"),
        ):
            assert_problem(client.request(method, path, headers=reader), 403)
            assert_problem(client.request(method, path), 401)
        assert client.get(f"/v1/runs/{run_id}", headers=reader).json()["status"] == "created"
        assert client.post(f"/v1/runs/{run_id}/archive", headers=writer).status_code == 200


def test_the_python_client_archives_and_deletes(live_server: Any, database_url: str) -> None:
    import lrhub
    from lrhub.errors import ConflictError, NotFoundError

    live = live_server(database_url)
    with lrhub.Client(live.url, max_retries=0) as client:
        run = client.create_run("from-python", schedule=COSINE)
        run.register_worker([0.1], None)
        assert run.archive().info.status == "archived"
        assert [r.name for r in client.list_runs()] == []
        with pytest.raises(ConflictError, match="unarchive"):
            run.advance()
        with pytest.raises(ConflictError, match="unarchive"):
            client.create_run("from-python", schedule=COSINE)
        assert run.unarchive().info.status == "running"
        assert run.advance().step == 0
        with pytest.raises(ConflictError, match="force=true"):
            run.delete()
        assert run.delete(force=True)["removed"]["revisions"] == 1
        with pytest.raises(NotFoundError):
            run.refresh()
