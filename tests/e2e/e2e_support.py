"""Helpers and fixtures for end-to-end tests: real `lrhub` processes on fresh databases."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from support.runs import create_attached_run
from support.server import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


def lrhub_executable() -> str:
    """The `lrhub` console script of this interpreter."""
    script = Path(sys.executable).with_name("lrhub")
    return str(script) if script.exists() else "lrhub"


def lrhub_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment for an `lrhub` command: this database, no tokens, quiet logs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRHUB_")}
    env.update(LRHUB_DATABASE_URL=database_url, LRHUB_LOG_LEVEL="warning", **extra)
    return env


def run_lrhub(args: list[str], database_url: str, timeout: float = 120) -> str:
    """Run one `lrhub` command to completion; fail the test with its output if it fails."""
    done = subprocess.run(
        [lrhub_executable(), *args],
        env=lrhub_env(database_url),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, f"lrhub {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout




def get_status(url: str, timeout: float = 2.0) -> int | None:
    """GET url and return the status, or None when nothing answers."""
    parts = urlsplit(url)
    try:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        conn.request("GET", parts.path)
        status = conn.getresponse().status
        conn.close()
        return status
    except (OSError, http.client.HTTPException):
        return None


@dataclass
class LiveLrhub:
    """One `lrhub serve` process (its own process group) on a port and database."""

    database_url: str
    port: int = field(default_factory=free_port)
    argv: list[str] | None = None
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 45.0) -> LiveLrhub:
        """Start the server and wait until /readyz answers 200."""
        argv = self.argv or [lrhub_executable(), "serve", "--host", "127.0.0.1"]
        argv = [*argv, "--port", str(self.port)] if self.argv is None else argv
        log = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            argv,
            env=lrhub_env(self.database_url, **self.env),
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"lrhub serve exited with {self.proc.returncode}: {argv}")
            if get_status(self.url + "/readyz") == 200:
                return self
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"lrhub serve not ready within {timeout} s: {argv}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group and wait for the server to be gone."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Graceful stop (SIGTERM, then SIGKILL if it lingers)."""
        self.kill(signal.SIGTERM)


@pytest.fixture
def start_lrhub(tmp_path: Path) -> Iterator[Callable[..., LiveLrhub]]:
    """Factory: `start_lrhub(database_url, port=, argv=, env=)`; every server is stopped after."""
    started: list[LiveLrhub] = []

    def start(
        database_url: str,
        port: int | None = None,
        argv: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> LiveLrhub:
        log = tmp_path / "serve.log"
        server = LiveLrhub(database_url, port or free_port(), argv, log=log, env=env or {})
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


@contextlib.contextmanager
def scratch_database(folder: Path) -> Iterator[str]:
    """A migrated database for a module: PostgreSQL when LRHUB_TEST_POSTGRES_URL is set,
    else a SQLite file in folder. A PostgreSQL one is dropped afterwards."""
    base = os.environ.get("LRHUB_TEST_POSTGRES_URL")
    if not base:
        url = f"sqlite:///{folder / 'lrhub.db'}"
        run_lrhub(["db", "upgrade"], url)
        yield url
        return
    import psycopg

    name = f"lrhub_e2e_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_with_database(base, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = _with_database(base, name)
        run_lrhub(["db", "upgrade"], url)
        yield url
    finally:
        with psycopg.connect(_with_database(base, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


WORKER = Path(__file__).with_name("advance_worker.py")
SPEC = {"type": "StepLR", "step_size": 100, "gamma": 0.5}


def create_run(base_url: str, name: str) -> int:
    """Create a one-group run and attach base values; return its id."""
    with httpx.Client(base_url=base_url, timeout=10) as client:
        return create_attached_run(client, name, SPEC)


def acknowledged(output: str) -> list[dict[str, float]]:
    """The values an advance_worker.py printed (error lines carry no step)."""
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    return [line for line in lines if "step" in line]
