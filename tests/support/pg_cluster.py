"""A throwaway PostgreSQL cluster a test may kill: never the machine's shared server.

As root, ``initdb`` and ``pg_ctl`` run as the ``postgres`` user (``runuser``) in a folder
that user owns, on a free loopback port, with trust authentication. ``stop`` is an
immediate shutdown (every backend dies, clients see their connections drop), ``start``
brings the same data back. ``throwaway_cluster()`` removes the cluster however the test
ends. Tests skip when the tools or the rights are missing.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_USER = "postgres"
START_TIMEOUT_S = 30


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgCluster:
    """One initdb'd data folder served by its own postmaster on ``port``."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.log = root / "server.log"
        self.port = _free_port()

    @property
    def url(self) -> str:
        """The maintenance database's URL (``postgres``)."""
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{name}"

    def _as_postgres(self, *argv: str, timeout: float = 60) -> None:
        command = ["runuser", "-u", PG_USER, "--", *argv]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:2])} failed: {result.stderr[-2000:]}")

    def init(self) -> PgCluster:
        shutil.chown(self.root, user=PG_USER, group=PG_USER)
        self._as_postgres(
            str(self.bin_dir / "initdb"),
            *("-D", str(self.data), "-U", PG_USER, "--auth=trust", "--no-sync", "-E", "UTF8"),
        )
        return self

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c max_connections=60"
        )
        self._as_postgres(
            str(self.bin_dir / "pg_ctl"),
            *("-D", str(self.data), "-l", str(self.log), "-o", options, "-w"),
            *("-t", str(START_TIMEOUT_S), "start"),
            timeout=START_TIMEOUT_S + 10,
        )

    def stop(self) -> None:
        """Immediate shutdown: the server and its backends go away at once."""
        self._as_postgres(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"
        )

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.database_url(name)


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[PgCluster]:
    """A started cluster, removed (stopped, folder deleted) however the block ends."""
    bin_dir = _bin_dir()
    if bin_dir is None or shutil.which("runuser") is None:
        pytest.skip("needs PostgreSQL's initdb/pg_ctl and runuser")
    if os.geteuid() != 0:
        pytest.skip("starting a throwaway cluster as the postgres user needs root")
    root = Path(tempfile.mkdtemp(prefix="lrhub-pg-"))
    cluster = PgCluster(bin_dir, root)
    try:
        cluster.init().start()
        yield cluster
    finally:
        if cluster.running():
            with contextlib.suppress(Exception):
                cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
