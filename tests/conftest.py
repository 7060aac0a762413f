"""Shared fixtures for every test directory (keep these stable: other suites use them).

- ``postgres_base_url`` (session): the server named by ``LRHUB_TEST_POSTGRES_URL``
  (e.g. ``postgresql://postgres@127.0.0.1:5432/lrhub_test``), or None when unset.
- ``database_url``: a fresh, migrated database, parametrized ``[sqlite]`` (a temp file) and
  ``[postgres]`` (a new database cloned from a migrated template, dropped afterwards).
  Postgres cases are skipped when ``LRHUB_TEST_POSTGRES_URL`` is unset, and fail instead
  when ``LRHUB_REQUIRE_POSTGRES=1``.
- ``empty_database_url``: like ``database_url`` but with no tables (for migration tests).
- ``api_factory(url=None, **settings)``: a sync httpx client (Starlette's ``TestClient``)
  over ``create_app(Settings(database_url=url or the test's database_url, **settings))``,
  lifespan run, server errors returned as 500 responses rather than raised. Using it
  parametrizes the test over both databases. ``api`` is ``api_factory()``.
- ``live_server(database_url, env=None, workers=1)``: starts a real ``lrhub serve``
  subprocess on a free loopback port, waits for ``/readyz`` and returns a ``LiveServer``
  with ``.url``, ``.kill()`` (SIGKILL), ``.stop()``, ``.restart()``; all are stopped at the
  end of the test.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

REQUIRE_POSTGRES = os.environ.get("LRHUB_REQUIRE_POSTGRES") == "1"
READY_TIMEOUT = 30.0


def _admin(base_url: str) -> Any:
    import psycopg

    url = make_url(base_url).set(drivername="postgresql", database="postgres")
    return psycopg.connect(
        url.render_as_string(hide_password=False), autocommit=True, connect_timeout=10
    )


def _pg_url(base_url: str, name: str) -> str:
    url = make_url(base_url).set(drivername="postgresql", database=name)
    return url.render_as_string(hide_password=False)


def _drop_database(base_url: str, name: str) -> None:
    with _admin(base_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_base_url() -> str | None:
    return os.environ.get("LRHUB_TEST_POSTGRES_URL") or None


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lrhub_service import migrate

    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _postgres_template(postgres_base_url: str | None) -> Iterator[str | None]:
    if postgres_base_url is None:
        yield None
        return
    from lrhub_service import migrate

    name = f"lrhub_tmpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with _admin(postgres_base_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    migrate.upgrade(_pg_url(postgres_base_url, name))
    yield name
    _drop_database(postgres_base_url, name)


def _need_postgres(base_url: str | None) -> str:
    if base_url is None:
        if REQUIRE_POSTGRES:
            pytest.fail("LRHUB_REQUIRE_POSTGRES=1 but LRHUB_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL tests need LRHUB_TEST_POSTGRES_URL")
    return base_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    _sqlite_template: Path,
    postgres_base_url: str | None,
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "lrhub.db"
        shutil.copyfile(_sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    base = _need_postgres(postgres_base_url)
    template = request.getfixturevalue("_postgres_template")
    name = f"lrhub_t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with _admin(base) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield _pg_url(base, name)
    _drop_database(base, name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_base_url: str | None
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    base = _need_postgres(postgres_base_url)
    name = f"lrhub_e_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with _admin(base) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield _pg_url(base, name)
    _drop_database(base, name)


@pytest.fixture
def api_factory(database_url: str) -> Iterator[Callable[..., Any]]:
    from starlette.testclient import TestClient

    from lrhub_service.api import create_app
    from lrhub_service.settings import Settings

    clients: list[Any] = []

    def make(url: str | None = None, **overrides: Any) -> Any:
        settings = Settings(database_url=url or database_url, **overrides)
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def api(api_factory: Callable[..., Any]) -> Any:
    return api_factory()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """A ``lrhub serve`` subprocess on loopback."""

    def __init__(self, database_url: str, env: dict[str, str], workers: int, log: Path) -> None:
        self.database_url = database_url
        self.env = env
        self.workers = workers
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        env = {**os.environ, "LRHUB_LOG_LEVEL": "warning", **self.env}
        env["LRHUB_DATABASE_URL"] = self.database_url
        argv = [sys.executable, "-m", "lrhub_service.cli", "serve", "--host", "127.0.0.1"]
        argv += ["--port", str(self.port), "--workers", str(self.workers)]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"lrhub serve exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(
            f"lrhub serve not ready in {READY_TIMEOUT}s: {self.log.read_text()[-2000:]}"
        )

    def _signal(self, sig: int) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)

    def kill(self) -> None:
        """SIGKILL the server (and its workers)."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """Stop gracefully."""
        self._signal(signal.SIGTERM)

    def restart(self) -> LiveServer:
        """Kill -9 and start again on the same port."""
        self.kill()
        return self.start()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    servers: list[LiveServer] = []

    def start(database_url: str, env: dict[str, str] | None = None, workers: int = 1) -> LiveServer:
        log = tmp_path / f"server-{len(servers)}.log"
        server = LiveServer(database_url, env or {}, workers, log)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.kill()
