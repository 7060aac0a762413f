"""Fixtures for the client tests (helpers live in client_support.py).

``server`` is one real ``lrhub serve`` per backend for the whole session (SQLite, and
PostgreSQL when ``LRHUB_TEST_POSTGRES_URL`` is set); tests keep apart by run name. Tests
that kill the server start their own with ``live_server`` (tests/conftest.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from client_support import FaultTransport
from support.server import ServerProcess

REQUIRE_POSTGRES = os.environ.get("LRHUB_REQUIRE_POSTGRES") == "1"


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_base_url: str | None,
) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp(f"client-server-{request.param}")
    if request.param == "sqlite":
        proc = ServerProcess(f"sqlite:///{tmp / 'client.db'}", tmp / "server.log")
        yield proc.start()
        proc.stop()
        return
    if postgres_base_url is None:
        if REQUIRE_POSTGRES:
            pytest.fail("LRHUB_REQUIRE_POSTGRES=1 but LRHUB_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL tests need LRHUB_TEST_POSTGRES_URL")
    import psycopg
    from sqlalchemy.engine import make_url

    from lrhub_service.db import migrate

    name = f"lrhub_client_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    base = make_url(postgres_base_url).set(drivername="postgresql")
    admin = base.set(database="postgres").render_as_string(hide_password=False)
    url = base.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        migrate.upgrade(url)
        proc = ServerProcess(url, tmp / "server.log")
        yield proc.start()
        proc.stop()
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def run_name() -> str:
    return f"client-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def faults() -> Iterator[FaultTransport]:
    transport = FaultTransport()
    yield transport
    transport.close()
