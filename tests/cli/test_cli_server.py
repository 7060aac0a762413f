"""Server commands (``lrhub serve``, ``db``, ``tokens``): safety checks and first contact."""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import subprocess
from pathlib import Path
from typing import Any

import httpx

from lrhub_service.cli.main import is_loopback, main

COSINE = {"type": "CosineAnnealingLR", "T_max": 100, "eta_min": 0.001}


def lrhub(*args: str, database_url: str | None = None) -> Any:
    """Run a server command in this process (``serve`` itself runs in live-server tests)."""
    argv = [*args, "--database-url", database_url] if database_url is not None else list(args)
    out, err = io.StringIO(), io.StringIO()
    loggers = [logging.getLogger(name) for name in ("lrhub", "uvicorn", "uvicorn.error")]
    saved = [(lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        finally:  # `serve` configures logging for a server process: undo it here
            for logger, (handlers, level, propagate) in zip(loggers, saved, strict=True):
                logger.handlers, logger.propagate = handlers, propagate
                logger.setLevel(level)
    return subprocess.CompletedProcess(["lrhub", *argv], code, out.getvalue(), err.getvalue())


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")


def test_public_bind_that_cannot_check_tokens_is_refused_in_one_line() -> None:
    """No LRHUB_TOKENS, a public bind and no database to create the first token in."""
    unreachable = "postgresql://postgres@127.0.0.1:9/none"
    result = lrhub("serve", "--host", "0.0.0.0", "--port", "1", database_url=unreachable)
    assert result.returncode == 2
    assert "refusing to serve on 0.0.0.0" in result.stderr and "--insecure" in result.stderr
    assert "database is unreachable" in result.stderr and "Traceback" not in result.stderr


def test_tokens_guard_the_server(database_url: str, live_server: Any) -> None:
    created = lrhub("tokens", "create", "ci", "--scope", "write", database_url=database_url)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    listed = lrhub("tokens", "list", database_url=database_url)
    assert "ci" in listed.stdout and "write" in listed.stdout and secret not in listed.stdout
    server = live_server(database_url)
    headers = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{server.url}/v1/runs", timeout=10).status_code == 401
    answer = httpx.post(
        f"{server.url}/v1/runs", json={"name": "cli-run", "schedule": COSINE},
        headers=headers, timeout=10,
    )  # fmt: skip
    assert answer.status_code == 201
    assert lrhub("tokens", "revoke", "ci", database_url=database_url).returncode == 0
    assert lrhub("tokens", "revoke", "ci", database_url=database_url).returncode == 1


def test_tokens_work_before_the_first_serve(tmp_path: Path) -> None:
    """A fresh SQLite file is migrated first, as `serve` would (no `no such table`)."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    created = lrhub("tokens", "create", "--scope", "read", database_url=url)
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip().startswith("lrh_") and "read-" in created.stderr
    assert lrhub("tokens", "revoke", database_url=url).returncode == 2  # the name is required


def test_db_commands_report_the_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert "current: empty" in lrhub("db", "current", database_url=url).stdout
    upgraded = lrhub("db", "upgrade", database_url=url)
    assert upgraded.returncode == 0 and "current: empty" not in upgraded.stdout


def test_an_unparsable_database_url_is_one_clear_line() -> None:
    result = lrhub("db", "current", database_url="mysql://nowhere/db")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "sqlite:///" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_with_several_workers(tmp_path: Path, live_server: Any) -> None:
    server = live_server(f"sqlite:///{tmp_path / 'w.db'}", workers=2)
    steps = set()
    with httpx.Client(base_url=server.url, timeout=10) as client:
        rid = client.post("/v1/runs", json={"name": "w", "schedule": COSINE}).json()["id"]
        client.post(f"/v1/runs/{rid}/attach", json={"base_lrs": [0.1]})
        for _ in range(20):
            steps.add(client.post(f"/v1/runs/{rid}/advance").json()["step"])
    assert steps == set(range(20))


def test_a_taken_port_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = lrhub("serve", "--port", port, database_url=f"sqlite:///{tmp_path / 'p.db'}")
    assert result.returncode == 2
    assert result.stderr == (
        f"lrhub: port {port} on 127.0.0.1 is in use (another lrhub serve?): "
        "pass --port or set LRHUB_PORT\n"
    )


def test_an_unparsable_url_when_serving_is_one_clear_line() -> None:
    result = lrhub("serve", database_url="not a url")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "cannot parse database URL" in result.stderr
