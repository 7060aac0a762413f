"""``lrhub runs archive | unarchive | delete`` and ``runs list --archived`` against a real server,
run from another folder, leaving nothing behind."""

# ruff: noqa: F811  (the fixtures `elsewhere` and `cli_env` come from test_cli_runs)
from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path
from typing import Any

import httpx
from test_cli_runs import ONE_CYCLE, cli_env, elsewhere, lrhub_script, run_cli  # noqa: F401

WORKER = {"rank": 0, "host": "node1", "pid": 77}


def listed(url: str, cwd: Path, env: dict[str, str], *flags: str) -> list[str]:
    result = run_cli(["runs", "list", "--url", url, "--json", *flags], cwd, env)
    assert result.returncode == 0, result.stderr
    return [run["name"] for run in json.loads(result.stdout)]


def test_archive_unarchive_and_delete_from_another_folder(
    tmp_path: Path,
    live_server: Any,
    elsewhere: Path,
    cli_env: dict[str, str],
) -> None:
    server = live_server(f"sqlite:///{tmp_path / 'life.db'}")
    url = ["--url", server.url]
    run = httpx.post(
        f"{server.url}/v1/runs", json={"name": "old-exp", "schedule": ONE_CYCLE}, timeout=10
    ).json()
    httpx.post(
        f"{server.url}/v1/runs/{run['id']}/attach",
        json={"base_lrs": [0.1], "worker": WORKER},
        timeout=10,
    )
    httpx.post(f"{server.url}/v1/runs", json={"name": "live", "schedule": ONE_CYCLE}, timeout=10)

    archived = run_cli(["runs", "archive", "old-exp", *url], elsewhere, cli_env)
    assert archived.returncode == 0, archived.stderr
    assert "archived" in archived.stdout and "lrhub runs unarchive old-exp" in archived.stdout
    assert listed(server.url, elsewhere, cli_env) == ["live"]
    assert listed(server.url, elsewhere, cli_env, "--archived") == ["old-exp"]
    assert listed(server.url, elsewhere, cli_env, "--all") == ["live", "old-exp"]
    table = run_cli(["runs", "list", *url, "--archived"], elsewhere, cli_env).stdout
    assert "old-exp" in table and "archived" in table

    refused = run_cli(["runs", "resume", "old-exp", "5", *url], elsewhere, cli_env)
    assert refused.returncode == 1 and "lrhub runs unarchive old-exp" in refused.stderr
    assert "Traceback" not in refused.stderr

    back = run_cli(["runs", "unarchive", str(run["id"]), *url, "--json"], elsewhere, cli_env)
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout)["status"] == "running"
    assert listed(server.url, elsewhere, cli_env) == ["live", "old-exp"]

    unconfirmed = run_cli(["runs", "delete", "old-exp", *url], elsewhere, cli_env)
    assert unconfirmed.returncode == 1 and "--yes" in unconfirmed.stderr
    active = run_cli(["runs", "delete", "old-exp", *url, "--yes"], elsewhere, cli_env)
    assert active.returncode == 1 and "force" in active.stderr and "1 worker" in active.stderr
    assert listed(server.url, elsewhere, cli_env) == ["live", "old-exp"]
    deleted = run_cli(["runs", "delete", "old-exp", *url, "--yes", "--force"], elsewhere, cli_env)
    assert deleted.returncode == 0, deleted.stderr
    assert "run old-exp deleted" in deleted.stdout and "revisions" in deleted.stdout
    assert listed(server.url, elsewhere, cli_env, "--all") == ["live"]

    assert list(elsewhere.iterdir()) == [], "a command left a file behind"
    assert list(Path(cli_env["HOME"]).iterdir()) == []


def delete_on_a_terminal(
    url: str, name: str, answer: bytes, cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """``lrhub runs delete`` with a terminal on stdin, answering the question with ``answer``."""
    primary, secondary = pty.openpty()
    try:
        process = subprocess.Popen(
            [lrhub_script(), "runs", "delete", name, "--url", url],
            stdin=secondary, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=cwd, env=env, text=True,
        )  # fmt: skip
        os.write(primary, answer)
        out, err = process.communicate(timeout=60)
    finally:
        os.close(primary)
        os.close(secondary)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_delete_asks_on_a_terminal(
    tmp_path: Path,
    live_server: Any,
    elsewhere: Path,
    cli_env: dict[str, str],
) -> None:
    server = live_server(f"sqlite:///{tmp_path / 'ask.db'}")
    httpx.post(f"{server.url}/v1/runs", json={"name": "maybe", "schedule": ONE_CYCLE}, timeout=10)

    kept = delete_on_a_terminal(server.url, "maybe", b"n\n", elsewhere, cli_env)
    assert kept.returncode == 1 and "not deleted" in kept.stderr
    assert "Delete run maybe" in kept.stdout
    assert listed(server.url, elsewhere, cli_env) == ["maybe"]

    gone = delete_on_a_terminal(server.url, "maybe", b"y\n", elsewhere, cli_env)
    assert gone.returncode == 0, gone.stderr
    assert listed(server.url, elsewhere, cli_env, "--all") == []
    assert list(elsewhere.iterdir()) == []
