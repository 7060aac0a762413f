"""A database that is not ready does not stop ``lrhub serve``: it starts, ``/readyz`` and every
``/v1`` route answer 503 naming the fix, it logs that once, and it becomes ready by itself."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from lrhub_service.db import migrate

COSINE = {"type": "CosineAnnealingLR", "T_max": 100}
HEAD = migrate.head_revision()
NOT_MIGRATED = (
    f"the database is not migrated (it is empty; this lrhub needs {HEAD}): run `lrhub db upgrade`"
)
V1_CALLS = [
    ("GET", "/v1/runs", None),
    ("POST", "/v1/runs", {"name": "first", "schedule": COSINE}),
    ("GET", "/v1/runs/1/lr?step=3", None),
    ("POST", "/v1/runs/1/advance", {"count": 1}),
    ("POST", "/v1/preview", {"schedule": COSINE, "steps": 3, "base_lrs": [0.1]}),
]


def _assert_all_503(url: str, detail: str) -> None:
    """``/readyz`` and each /v1 call answer 503 problem+json with ``detail``, Retry-After 1."""
    with httpx.Client(base_url=url, timeout=10) as client:
        answers = [client.get("/readyz")]
        answers += [client.request(method, path, json=body) for method, path, body in V1_CALLS]
        for answer in answers:
            assert answer.status_code == 503, (answer.request.url, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.headers["retry-after"] == "1"
            assert answer.json()["detail"] == detail, answer.request.url
        assert client.get("/healthz").status_code == 200


def _wait_ready(url: str, within_s: float = 15.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < within_s:
        if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
            return time.monotonic() - start
        time.sleep(0.1)
    pytest.fail(f"not ready {within_s} s later")


def _log_messages(log: Path) -> list[str]:
    return [json.loads(line)["message"] for line in log.read_text().splitlines() if line]


@pytest.mark.postgres
@pytest.mark.parametrize("empty_database_url", ["postgres"], indirect=True)
def test_an_empty_postgres_database_is_served_once_migrated(
    live_server: Any, empty_database_url: str
) -> None:
    """PostgreSQL only: the server migrates an embedded SQLite file itself."""
    env = {"LRHUB_LOG_LEVEL": "info", "LRHUB_LOG_JSON": "true"}
    server = live_server(empty_database_url, env=env, until="/healthz")
    for _ in range(3):
        _assert_all_503(server.url, NOT_MIGRATED)
    migrate.upgrade(empty_database_url)  # `lrhub db upgrade`, while the server runs
    _wait_ready(server.url)
    created = httpx.post(f"{server.url}/v1/runs", json=V1_CALLS[1][2], timeout=10)
    assert created.status_code == 201, created.text
    messages = _log_messages(server.log)
    expected = f"{NOT_MIGRATED}; /readyz and /v1 answer 503 until then"
    assert messages.count(expected) == 1, messages  # once, not once per request
    assert messages.index(expected) < messages.index("lrhub ready")
    assert not [m for m in messages if m.startswith(("GET ", "POST "))], messages


def test_a_sqlite_file_that_cannot_be_opened_is_served_once_it_can(
    live_server: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "not-yet"
    path = folder / "lrhub.db"
    env = {"LRHUB_LOG_LEVEL": "info", "LRHUB_LOG_JSON": "true"}
    server = live_server(f"sqlite:///{path}", env=env, until="/healthz")
    problem = httpx.get(f"{server.url}/readyz", timeout=10).json()["detail"]
    assert problem == (
        f"cannot open the SQLite database {path} (unable to open database file): check the "
        "path in LRHUB_DATABASE_URL and that its folder exists and is writable"
    )
    for _ in range(3):
        _assert_all_503(server.url, problem)
    folder.mkdir()  # the volume shows up: the server migrates the new file and serves
    _wait_ready(server.url)
    created = httpx.post(f"{server.url}/v1/runs", json=V1_CALLS[1][2], timeout=10)
    assert created.status_code == 201, created.text
    messages = _log_messages(server.log)
    assert messages.count(f"{problem}; /readyz and /v1 answer 503 until then") == 1, messages
    assert "lrhub ready" in messages


def test_an_unreachable_postgres_server_is_named_without_its_password(
    live_server: Any, tmp_path: Path
) -> None:
    url = "postgresql://lrhub:sekret-password@127.0.0.1:9/lrhub"  # nothing listens on port 9
    server = live_server(url, env={"LRHUB_LOG_JSON": "true"}, until="/healthz")
    problem = httpx.get(f"{server.url}/readyz", timeout=10).json()["detail"]
    assert problem.startswith("the database is unreachable (")
    assert "Connection refused" in problem
    assert problem.endswith(
        "): check LRHUB_DATABASE_URL (postgresql://lrhub:***@127.0.0.1:9/lrhub) "
        "and that the database server is running"
    )
    _assert_all_503(server.url, problem)
    assert "sekret-password" not in server.log.read_text()
    messages = _log_messages(server.log)
    assert messages == [f"{problem}; /readyz and /v1 answer 503 until then"]


def test_an_outage_while_serving_logs_one_line_not_one_per_request(
    api: Any, database_url: str, caplog: Any
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("dropping a live database is a PostgreSQL scenario")
    import psycopg
    from sqlalchemy.engine import make_url

    assert api.post("/v1/runs", json=V1_CALLS[1][2]).status_code == 201
    url = make_url(database_url)
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{url.database}" WITH (FORCE)')
    with caplog.at_level(logging.INFO, logger="lrhub"):
        statuses = [api.get("/v1/runs/1").status_code for _ in range(10)]
    assert statuses == [503] * 10
    ours = [r for r in caplog.records if r.name.startswith("lrhub")]
    lines = [r.getMessage() for r in ours if r.levelno >= logging.WARNING]
    assert len(lines) == 1, lines
    assert lines[0].startswith("database unavailable (")
    assert lines[0].endswith(") on GET /v1/runs/1: answering 503 with Retry-After")
