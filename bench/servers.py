"""The servers every benchmark shares, started together on fresh PostgreSQL databases.

- lrhub on the main database (read path, shared counter, refold, RSS);
- lrhub on a database that the scale section fills with 10,000 runs;
- the hello-world peer, served with the same uvicorn options and worker count.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

from bench._util import (
    Server,
    db_upgrade,
    free_port,
    launch,
    lrhub_command,
    lrhub_env,
    postgres_database,
    rss_mib,
    stop_group,
    wait_http,
)


@dataclass
class BenchContext:
    """What a benchmark section needs: mode, databases and the running servers."""

    quick: bool
    admin_url: str
    database_url: str
    workers: int
    lrhub: Server
    hello: Server
    many_database_url: str
    many: Server
    rss_idle: tuple[float, float] = (0.0, 0.0)  # MiB of lrhub and hello world, as started
    rss_load: dict[str, float] = field(default_factory=dict)  # sampled during read-path wrk


def lrhub_argv(port: int, workers: int) -> list[str]:
    """`lrhub serve` on 127.0.0.1 (migrations must be applied already)."""
    return lrhub_command(
        "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)
    )


def hello_argv(port: int, workers: int) -> list[str]:
    """The hello-world peer under uvicorn with the same worker count and options as lrhub."""
    return [sys.executable, "-m", "bench.hello_app", str(port), str(workers)]


@contextlib.contextmanager
def bench_context(quick: bool, admin_url: str, workers: int) -> Iterator[BenchContext]:
    """Two migrated databases and three servers, started in parallel; all gone afterwards."""
    with (
        postgres_database(admin_url) as database_url,
        postgres_database(admin_url) as many_url,
        contextlib.ExitStack() as stack,
    ):
        db_upgrade(database_url, many_url)
        servers: dict[str, Server] = {}
        for name, argv_of, env in (
            ("lrhub", lrhub_argv, lrhub_env(database_url)),
            ("many", lrhub_argv, lrhub_env(many_url)),
            ("hello", hello_argv, dict(os.environ)),
        ):
            port = free_port()
            servers[name] = launch(argv_of(port, workers), port, env)
            stack.callback(stop_group, servers[name].proc)
        for name, server in servers.items():
            wait_http(server.url + ("/hello" if name == "hello" else "/healthz"), 60, server.proc)
        lrhub, hello = servers["lrhub"], servers["hello"]
        yield BenchContext(
            quick=quick,
            admin_url=admin_url,
            database_url=database_url,
            workers=workers,
            lrhub=lrhub,
            hello=hello,
            many_database_url=many_url,
            many=servers["many"],
            rss_idle=(rss_mib(lrhub.pid), rss_mib(hello.pid)),
        )
