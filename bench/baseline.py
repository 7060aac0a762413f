"""`python -m bench --baseline [REV]`: the read, window and advance rows, old code beside new.

The old revision (default ``7959a95``, the code before the issue-9 rework) is checked out
with ``git worktree add`` into a temporary folder; its server runs under this interpreter
with ``PYTHONPATH=<old>/service:<old>/client`` (its dependencies are a subset of today's),
on a fresh PostgreSQL database migrated by its own code, beside today's server on another.
Both get the same run, the same worker count and the same wrk load, in interleaved rounds;
each row gives new and old and their ratio (goal: no figure more than 10% worse).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench._util import (
    REPO_ROOT,
    Row,
    Server,
    db_upgrade,
    free_port,
    launch,
    lrhub_env,
    postgres_database,
    row,
    spread,
    spread_note,
    stop_group,
    wait_http,
    wrk,
    wrk_available,
)
from bench.advance import WRK_POST
from bench.read_path import WINDOW_STEPS, create_run
from bench.servers import lrhub_argv

SECTION = "old vs new"
DEFAULT_REVISION = "7959a95"
CONNECTIONS = 64
GOAL = 0.9  # new / old: no figure more than 10% worse


@contextlib.contextmanager
def old_checkout(revision: str) -> Iterator[Path]:
    """``revision`` checked out (detached) in a temporary folder; removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="lrhub-baseline-"))
    tree = folder / "tree"
    git = ["git", "-C", str(REPO_ROOT)]
    subprocess.run(
        [*git, "worktree", "add", "--detach", "--quiet", str(tree), revision],
        check=True,
        capture_output=True,
    )
    try:
        yield tree
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(tree)], capture_output=True)
        with contextlib.suppress(OSError):
            folder.rmdir()


def old_env(tree: Path, database_url: str) -> dict[str, str]:
    """The environment that makes this interpreter import the old revision's packages."""
    env = lrhub_env(database_url)
    env["PYTHONPATH"] = os.pathsep.join([str(tree / "service"), str(tree / "client")])
    return env


def old_command(*args: str) -> list[str]:
    """The old revision's CLI (``lrhub_service.cli``, before the entry-point split)."""
    return [sys.executable, "-m", "lrhub_service.cli", *args]


def _launch_old(tree: Path, database_url: str, workers: int) -> Server:
    env = old_env(tree, database_url)
    subprocess.run(old_command("db", "upgrade"), env=env, cwd=tree, check=True, capture_output=True)
    port = free_port()
    argv = old_command(
        "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)
    )
    return launch(argv, port, env, cwd=tree)


def measure(quick: bool, admin_url: str, workers: int, revision: str) -> list[Row]:
    """Old and new servers side by side: GET /lr, GET /window, POST /advance (wrk)."""
    if not wrk_available():
        return [row(SECTION, "wrk missing: apt-get install -y wrk", None, note="not measured")]
    with (
        old_checkout(revision) as tree,
        postgres_database(admin_url, "lrhub_bench_old") as old_url,
        postgres_database(admin_url, "lrhub_bench_new") as new_url,
        contextlib.ExitStack() as stack,
    ):
        db_upgrade(new_url)
        port = free_port()
        servers = {
            "new": launch(lrhub_argv(port, workers), port, lrhub_env(new_url)),
            "old": _launch_old(tree, old_url, workers),
        }
        for server in servers.values():
            stack.callback(stop_group, server.proc)
        for server in servers.values():
            wait_http(server.url + "/healthz", 60, server.proc)
        return _compare(servers, quick, revision)


def _targets(server: Server) -> dict[str, str]:
    run_id = create_run(server.url, "bench-baseline")
    base = f"{server.url}/v1/runs/{run_id}"
    return {
        "lr": f"{base}/lr?step=12345",
        "window": f"{base}/window?start=0&count={WINDOW_STEPS}",
        "advance": f"{base}/advance",
    }


def _compare(servers: dict[str, Server], quick: bool, revision: str) -> list[Row]:
    rounds, seconds = (1, 1) if quick else (3, 4)
    targets = {name: _targets(server) for name, server in servers.items()}
    rps: dict[tuple[str, str], list[float]] = {}
    errors: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "advance.lua"
        script.write_text(WRK_POST)
        for _ in range(rounds):
            for kind in ("lr", "window", "advance"):
                for name in ("old", "new"):  # interleaved: load drifts hit both alike
                    lua = script if kind == "advance" else None
                    result = wrk(targets[name][kind], CONNECTIONS, seconds, script=lua)
                    rps.setdefault((kind, name), []).append(result.rps)
                    errors[kind] = errors.get(kind, 0) + result.errors
    labels = {
        "lr": "GET /lr req/s",
        "window": f"GET /window ({WINDOW_STEPS} steps) req/s",
        "advance": "POST /advance req/s",
    }
    rows = []
    for kind, label in labels.items():
        new, old = rps[(kind, "new")], rps[(kind, "old")]
        ratios = [n / o for n, o in zip(new, old, strict=True)]
        ratio = spread(ratios)[0]
        rows.append(
            row(
                SECTION,
                f"{label}, new / old ({revision})",
                spread(new)[0],
                spread(old)[0],
                ratio=ratio,
                unit="req/s",
                goal=f">= {GOAL}",
                ok=ratio >= GOAL and errors[kind] == 0,
                note=f"{CONNECTIONS} conns; ratio {spread_note(ratios)}; errors {errors[kind]}",
            )
        )
    return rows
