"""The ``lrhub`` command: serve's safety check, runs, tokens, preview."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import subprocess
from typing import Any

import httpx
from api_support import COSINE

from lrhub_service.cli.main import is_loopback, main


def lrhub(*args: str, database_url: str | None = None) -> Any:
    """Run the ``lrhub`` command's ``main`` in this process (``serve`` runs in a subprocess
    in the live-server tests, and tests/db runs ``python -m lrhub_service.cli`` itself)."""
    argv = [*args, "--database-url", database_url] if database_url is not None else list(args)
    out, err = io.StringIO(), io.StringIO()
    loggers = [logging.getLogger(name) for name in ("lrhub", "uvicorn", "uvicorn.error")]
    saved = [(lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 2
        finally:  # `serve` configures logging for a server process: undo it here
            for logger, (handlers, level, propagate) in zip(loggers, saved, strict=True):
                logger.handlers, logger.propagate = handlers, propagate
                logger.setLevel(level)
    return subprocess.CompletedProcess(["lrhub", *argv], code, out.getvalue(), err.getvalue())


def test_loopback_detection() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")


def test_public_bind_without_tokens_is_refused(database_url: str) -> None:
    result = lrhub("serve", "--host", "0.0.0.0", "--port", "1", database_url=database_url)
    assert result.returncode == 2
    assert "--insecure" in result.stderr and "without tokens" in result.stderr


def test_tokens_and_runs_commands(database_url: str, live_server: Any) -> None:
    created = lrhub("tokens", "create", "ci", "--scope", "write", database_url=database_url)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    listed = lrhub("tokens", "list", database_url=database_url)
    assert "ci" in listed.stdout and "write" in listed.stdout and secret not in listed.stdout
    server = live_server(database_url)
    headers = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{server.url}/v1/runs", timeout=10).status_code == 401
    run = httpx.post(
        f"{server.url}/v1/runs",
        json={"name": "cli-run", "schedule": COSINE},
        headers=headers,
        timeout=10,
    ).json()
    shown = lrhub("runs", "show", "cli-run", database_url=database_url)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["id"] == run["id"]
    assert "cli-run" in lrhub("runs", "list", database_url=database_url).stdout
    assert lrhub("runs", "show", "nope", database_url=database_url).returncode == 1
    assert lrhub("tokens", "revoke", "ci", database_url=database_url).returncode == 0
    assert lrhub("tokens", "revoke", "ci", database_url=database_url).returncode == 1


def test_preview_command() -> None:
    spec = json.dumps({"type": "StepLR", "step_size": 2, "base_lr": 1.0})
    result = lrhub("preview", spec, "--steps", "6")
    assert result.returncode == 0, result.stderr
    assert "StepLR" in result.stdout
    bad = lrhub("preview", json.dumps({"type": "StepLR", "step_size": 0}), "--steps", "6")
    assert bad.returncode == 2 and "step_size" in bad.stderr


def test_serve_with_several_workers(tmp_path: Any, live_server: Any) -> None:
    server = live_server(f"sqlite:///{tmp_path / 'w.db'}", workers=2)
    steps = set()
    with httpx.Client(base_url=server.url, timeout=10) as client:
        rid = client.post("/v1/runs", json={"name": "w", "schedule": COSINE}).json()["id"]
        client.post(f"/v1/runs/{rid}/attach", json={"base_lrs": [0.1]})
        for _ in range(20):
            steps.add(client.post(f"/v1/runs/{rid}/advance").json()["step"])
    assert steps == set(range(20))


def test_token_name_is_optional_on_create(database_url: str) -> None:
    created = lrhub("tokens", "create", "--scope", "read", database_url=database_url)
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip().startswith("lrh_") and "read-" in created.stderr
    assert lrhub("tokens", "revoke", database_url=database_url).returncode == 2
