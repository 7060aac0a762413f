"""docs/first-ten-minutes.md runs as written: every command, in order, against a real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from support.server import free_port

PAGE = Path(__file__).resolve().parents[2] / "docs" / "first-ten-minutes.md"


def code_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced block, in order."""
    return [(lang, body) for lang, body in re.findall(r"```(\w+)\n(.*?)```", text, re.S)]


def commands(body: str) -> list[str]:
    """The command lines of a bash block, trailing comments removed."""
    lines = (line.split(" #", 1)[0].strip() for line in body.splitlines())
    return [line for line in lines if line and not line.startswith("#")]




@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_first_ten_minutes_page_runs_as_written(tmp_path: Path) -> None:
    port = free_port()
    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRHUB_")}
    env.update(
        PATH=f"{bin_dir}:{env.get('PATH', '')}", HOME=str(tmp_path), LRHUB_PORT=str(port),
        LRHUB_URL=f"http://127.0.0.1:{port}", LRHUB_LOG_LEVEL="warning",
    )  # fmt: skip
    blocks = code_blocks(PAGE.read_text())
    (script,) = [body for lang, body in blocks if lang == "python"]
    (tmp_path / "train.py").write_text(script)
    outputs: list[tuple[str, str]] = []
    server = None
    try:
        for lang, body in blocks:
            if lang != "bash":
                continue
            for line in commands(body):
                if line.startswith("pip install"):
                    continue  # the test's own environment is that install
                if line.endswith("&"):
                    server = subprocess.Popen(
                        line.rstrip("&").split(), cwd=tmp_path, env=env,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    )  # fmt: skip
                    wait_until_ready(f"http://127.0.0.1:{port}/readyz")
                    continue
                done = subprocess.run(
                    line, shell=True, cwd=tmp_path, env=env,
                    capture_output=True, text=True, timeout=180,
                )  # fmt: skip
                assert done.returncode == 0, f"`{line}` failed:\n{done.stdout}\n{done.stderr}"
                outputs.append((line, done.stdout))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    trainings = [out for line, out in outputs if line == "python train.py"]
    assert len(trainings) == 2
    assert "started at step 0" in trainings[0] and "now at step 200" in trainings[0]
    assert "started at step 200" in trainings[1] and "now at step 400" in trainings[1]
    by_command = dict(outputs)
    assert "toy-regression" in by_command["lrhub runs list"]
    revise = next(out for line, out in outputs if line.startswith("lrhub runs revise"))
    assert re.search(r"revision 2 takes effect at step \d+", revise)
    assert "OneCycleLR" in next(out for line, out in outputs if line.startswith("lrhub preview"))


def wait_until_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the server never became ready at {url}")
