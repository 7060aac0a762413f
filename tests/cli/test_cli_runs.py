"""``lrhub runs ...`` and friends talk to a real server from any folder and leave nothing behind."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

ONE_CYCLE = {"type": "OneCycleLR", "max_lr": 0.4, "total_steps": 1000}
SECRET = "lrh_cli_test_secret_0123456789abcdef"


def lrhub_script() -> str:
    """The ``lrhub`` console script of this interpreter's environment."""
    return str(Path(sys.executable).with_name("lrhub"))


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """An empty folder outside the repo to run commands from."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """No LRHUB_* from the outside; a private home and login file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRHUB_")}
    home = tmp_path / "home"
    home.mkdir()
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    return env


def run_cli(
    args: list[str], cwd: Path, env: dict[str, str], argv0: list[str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = (argv0 or [lrhub_script()]) + args
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_version_from_the_script_and_the_module(elsewhere: Path, cli_env: dict[str, str]) -> None:
    script = run_cli(["--version"], elsewhere, cli_env)
    module = run_cli(["--version"], elsewhere, cli_env, argv0=[sys.executable, "-m", "lrhub"])
    assert script.returncode == 0 and module.returncode == 0
    assert script.stdout.strip() == module.stdout.strip() == "lrhub 0.1.0"


def test_each_subcommand_has_its_own_help(elsewhere: Path, cli_env: dict[str, str]) -> None:
    runs_help = run_cli(["runs", "revise", "--help"], elsewhere, cli_env).stdout
    serve_help = run_cli(["serve", "--help"], elsewhere, cli_env).stdout
    assert "--from-step" in runs_help and "--from-step" not in serve_help
    assert "--workers" in serve_help and "[bold]" not in serve_help + runs_help


def test_runs_commands_over_http_from_another_folder(
    tmp_path: Path, live_server: Any, elsewhere: Path, cli_env: dict[str, str]
) -> None:
    server = live_server(f"sqlite:///{tmp_path / 'runs.db'}")
    created = httpx.post(
        f"{server.url}/v1/runs", json={"name": "cli-demo", "schedule": ONE_CYCLE}, timeout=10
    ).json()
    url = ["--url", server.url]

    listed = run_cli(["runs", "list", *url], elsewhere, cli_env)
    assert listed.returncode == 0, listed.stderr
    assert "cli-demo" in listed.stdout and "OneCycleLR" in listed.stdout
    as_json = json.loads(run_cli(["runs", "list", *url, "--json"], elsewhere, cli_env).stdout)
    assert [run["id"] for run in as_json] == [created["id"]]

    shown = run_cli(["runs", "show", "cli-demo", *url], elsewhere, cli_env)
    assert shown.returncode == 0 and "created" in shown.stdout and "max_lr" in shown.stdout

    curve = run_cli(
        ["runs", "curve", "cli-demo", *url, "--end", "999", "--points", "7", "--json"],
        elsewhere, cli_env,
    )  # fmt: skip
    sampled = json.loads(curve.stdout)
    assert sampled["steps"] == [0, 166, 333, 500, 666, 832, 999]
    for step, lr in zip(sampled["steps"], sampled["lrs"][0], strict=True):
        value = httpx.get(f"{server.url}/v1/runs/{created['id']}/lr?step={step}", timeout=10)
        assert value.json()["lr"] == lr
    after_reads = httpx.get(f"{server.url}/v1/runs/{created['id']}", timeout=10).json()
    assert after_reads["horizon"] == created["horizon"], "a curve must promise nothing"

    httpx.post(f"{server.url}/v1/runs/{created['id']}/attach", json={"base_lrs": [0.1]}, timeout=10)
    spec = json.dumps({"type": "CosineAnnealingLR", "T_max": 500})
    revised = run_cli(["runs", "revise", "cli-demo", spec, *url, "--from-step", "100"],
                      elsewhere, cli_env)  # fmt: skip
    assert revised.returncode == 0, revised.stderr
    assert "revision 2 takes effect at step 100" in revised.stdout

    resumed = run_cli(["runs", "resume", str(created["id"]), "40", *url], elsewhere, cli_env)
    assert resumed.returncode == 0 and "resumes at step 40" in resumed.stdout
    restarted = run_cli(["runs", "restart", "cli-demo", *url, "--json"], elsewhere, cli_env)
    assert restarted.returncode == 0, restarted.stderr
    assert json.loads(restarted.stdout)["progress"] == 0

    missing = run_cli(["runs", "show", "nope", *url], elsewhere, cli_env)
    assert missing.returncode == 1 and "lrhub runs list" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert list(elsewhere.iterdir()) == [], "a command left a file behind"
    assert list(Path(cli_env["HOME"]).iterdir()) == []


def test_tokens_hints_and_login(
    tmp_path: Path, live_server: Any, elsewhere: Path, cli_env: dict[str, str]
) -> None:
    server = live_server(
        f"sqlite:///{tmp_path / 't.db'}", env={"LRHUB_TOKENS": f"ci:write:{SECRET}"}
    )
    refused = run_cli(["runs", "list", "--url", server.url], elsewhere, cli_env)
    assert refused.returncode == 1
    assert "--token" in refused.stderr and "LRHUB_TOKEN" in refused.stderr
    assert "lrhub.Client" not in refused.stderr

    bad_login = run_cli(["login", server.url, "--token", "wrong"], elsewhere, cli_env)
    assert bad_login.returncode == 1
    login = run_cli(["login", server.url, "--token", SECRET], elsewhere, cli_env)
    assert login.returncode == 0, login.stderr
    (config,) = (Path(cli_env["HOME"]) / ".config" / "lrhub").iterdir()
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    listed = run_cli(["runs", "list", "--json"], elsewhere, cli_env)  # URL and token from login
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
    down = run_cli(["runs", "list", "--url", "http://127.0.0.1:9"], elsewhere, cli_env)
    assert down.returncode == 1 and "no lrhub server answers" in down.stderr
    assert "retry" not in down.stderr and "Traceback" not in down.stderr


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_client_only_venv_lists_runs(
    tmp_path: Path, live_server: Any, elsewhere: Path, cli_env: dict[str, str]
) -> None:
    """`pip install 'lrhub[cli]'` (no server extra): runs commands work, serve says what to add."""
    repo = Path(__file__).resolve().parents[2]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", f"{repo}[cli]"],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    server = live_server(f"sqlite:///{tmp_path / 'c.db'}")
    httpx.post(f"{server.url}/v1/runs", json={"name": "thin", "schedule": ONE_CYCLE}, timeout=10)
    script = [str(venv / "bin" / "lrhub")]
    listed = run_cli(["runs", "list", "--url", server.url], elsewhere, cli_env, argv0=script)
    assert listed.returncode == 0, listed.stderr
    assert "thin" in listed.stdout
    serve = run_cli(["serve"], elsewhere, cli_env, argv0=script)
    assert serve.returncode == 1 and "pip install 'lrhub[server]'" in serve.stderr
    probe = "import sys, lrhub; print(sorted(m for m in ('typer', 'rich') if m in sys.modules))"
    imported = subprocess.run([str(venv / "bin" / "python"), "-c", probe],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
    assert imported.stdout.strip() == "[]", "import lrhub must not import the CLI's dependencies"
