"""Shared fixtures for every test directory (keep these stable: other suites use them).

- ``postgres_base_url`` (session): the server named by ``LRHUB_TEST_POSTGRES_URL``
  (e.g. ``postgresql://postgres@127.0.0.1:5432/lrhub_test``), or None when unset.
- ``database_url``: a fresh, migrated database, parametrized ``[sqlite]`` (a copy of a
  migrated template file) and ``[postgres]`` (a database cloned once from a migrated template
  and reused by later tests, its tables emptied with TRUNCATE ... RESTART IDENTITY before each
  reuse, so it is as empty as a new clone; one whose schema a test changed is replaced).
  Postgres cases are skipped when ``LRHUB_TEST_POSTGRES_URL`` is unset, and fail instead
  when ``LRHUB_REQUIRE_POSTGRES=1``.
- ``empty_database_url``: like ``database_url`` but with no tables (for migration tests).
- ``api_factory(url=None, **settings)``: a sync httpx client (Starlette's ``TestClient``)
  over ``create_app(Settings(database_url=url or the test's database_url, **settings))``,
  lifespan run, server errors returned as 500 responses rather than raised. Using it
  parametrizes the test over both databases. ``api`` is ``api_factory()``.
- ``live_server(database_url, env=None, workers=1, until="/readyz")``: starts a real
  ``lrhub serve`` subprocess on a free loopback port, waits until ``until`` answers 200
  (``/healthz`` for a server whose database is not ready) and returns a ``LiveServer``
  with ``.url``, ``.kill()`` (SIGKILL), ``.stop()``, ``.restart()``; all are stopped at the
  end of the test.
"""

from __future__ import annotations

import contextlib
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
    from lrhub_service.db import migrate

    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@contextlib.contextmanager
def _template_database(base_url: str) -> Iterator[str]:
    """A migrated database to clone (``CREATE DATABASE ... TEMPLATE``), dropped afterwards."""
    from lrhub_service.db import migrate

    name = f"lrhub_tmpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with _admin(base_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        migrate.upgrade(_pg_url(base_url, name))
        yield name
    finally:
        _drop_database(base_url, name)


@pytest.fixture(scope="session")
def _postgres_template(postgres_base_url: str | None) -> Iterator[str | None]:
    if postgres_base_url is None:
        yield None
        return
    with _template_database(postgres_base_url) as name:
        yield name


def _need_postgres(base_url: str | None) -> str:
    if base_url is None:
        if REQUIRE_POSTGRES:
            pytest.fail("LRHUB_REQUIRE_POSTGRES=1 but LRHUB_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL tests need LRHUB_TEST_POSTGRES_URL")
    return base_url


class _PostgresPool:
    """Migrated databases reused across tests: emptied (TRUNCATE) before each reuse.

    Cloning the template costs ~0.2 s and dropping ~0.2 s (more under load); emptying the
    tables costs ~0.04 s. A database whose schema a test changed (or dropped) is replaced.
    """

    def __init__(self, base_url: str, template: str) -> None:
        self.base_url = base_url
        self.template = template
        self.free: list[str] = []
        self.created: list[str] = []

    def acquire(self) -> str:
        while self.free:
            name = self.free.pop()
            if self._reset(name):
                return name
            _drop_database(self.base_url, name)
            self.created.remove(name)
        name = f"lrhub_t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with _admin(self.base_url) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        return name

    def release(self, name: str) -> None:
        self.free.append(name)

    def _reset(self, name: str) -> bool:
        """Empty every table as a fresh clone would be; False if the schema changed."""
        import psycopg

        from lrhub_service.db import migrate
        from lrhub_service.db.models import Base

        try:
            with _admin(self.base_url) as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )
            url = _pg_url(self.base_url, name)
            with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
                version = conn.execute("SELECT version_num FROM alembic_version").fetchall()
                tables = [
                    row[0]
                    for row in conn.execute(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                        "AND tablename <> 'alembic_version'"
                    )
                ]
                if version != [(migrate.head_revision(),)] or set(tables) != set(
                    Base.metadata.tables
                ):
                    return False
                listed = ", ".join(f'"{table}"' for table in tables)
                conn.execute(f"TRUNCATE {listed} RESTART IDENTITY CASCADE")
        except psycopg.Error:
            return False
        return True


@pytest.fixture(scope="session")
def _postgres_pool(postgres_base_url: str | None) -> Iterator[_PostgresPool]:
    base = _need_postgres(postgres_base_url)
    with _template_database(base) as template:
        pool = _PostgresPool(base, template)
        yield pool
        for name in pool.created:
            _drop_database(base, name)


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
    _need_postgres(postgres_base_url)
    pool: _PostgresPool = request.getfixturevalue("_postgres_pool")
    name = pool.acquire()
    yield _pg_url(pool.base_url, name)
    pool.release(name)


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

    def __init__(
        self, database_url: str, env: dict[str, str], workers: int, log: Path, until: str
    ) -> None:
        self.database_url = database_url
        self.until = until  # the path that must answer 200 before start() returns
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
                if httpx.get(f"{self.url}{self.until}", timeout=1.0).status_code == 200:
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

    def start(
        database_url: str,
        env: dict[str, str] | None = None,
        workers: int = 1,
        until: str = "/readyz",
    ) -> LiveServer:
        log = tmp_path / f"server-{len(servers)}.log"
        server = LiveServer(database_url, env or {}, workers, log, until)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.kill()
