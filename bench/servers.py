"""The servers every benchmark shares: lrhub on a fresh PostgreSQL database, and hello world."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from bench._util import (
    Server,
    db_upgrade,
    free_port,
    lrhub_command,
    lrhub_env,
    postgres_database,
    rss_mib,
    serve,
)


@dataclass
class BenchContext:
    """What a benchmark section needs: mode, database and the running servers."""

    quick: bool
    admin_url: str
    database_url: str
    workers: int
    lrhub: Server
    hello: Server
    rss_idle: tuple[float, float] = (0.0, 0.0)  # MiB of lrhub and hello world, as started


@contextlib.contextmanager
def lrhub_server(database_url: str, workers: int) -> Iterator[Server]:
    """`lrhub serve` on 127.0.0.1 and a free port (migrations must be applied already)."""
    port = free_port()
    argv = lrhub_command(
        "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)
    )
    with serve(argv, port, lrhub_env(database_url)) as server:
        yield server


@contextlib.contextmanager
def hello_server(workers: int) -> Iterator[Server]:
    """The hello-world peer under uvicorn with the same worker count and flags as lrhub."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.hello_app", str(port), str(workers)]
    with serve(argv, port, dict(os.environ), ready_path="/hello") as server:
        yield server


@contextlib.contextmanager
def bench_context(quick: bool, admin_url: str, workers: int) -> Iterator[BenchContext]:
    """A fresh database with migrations, lrhub and hello world running; all gone afterwards."""
    with postgres_database(admin_url) as database_url:
        db_upgrade(database_url)
        with lrhub_server(database_url, workers) as lrhub, hello_server(workers) as hello:
            idle = (rss_mib(lrhub.pid), rss_mib(hello.pid))
            yield BenchContext(quick, admin_url, database_url, workers, lrhub, hello, idle)
