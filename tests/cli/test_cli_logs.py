"""``lrhub serve``'s logs: one readable line per event on a terminal, JSON lines otherwise
(``LRHUB_LOG_JSON=auto``, the default), either forced by ``LRHUB_LOG_JSON=true|false``."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from support.server import free_port

from lrhub_service.settings import Settings

READY_TEXT = re.compile(r"^\d\d:\d\d:\d\d INFO  lrhub\.app  lrhub ready  database=sqlite$")
STARTED_TEXT = re.compile(r"^\d\d:\d\d:\d\d INFO  uvicorn  Started server process \[\d+\]$")




def serve_once(
    tmp: Path, *, terminal: bool, log_json: str | None = None, workers: int = 1
) -> list[str]:
    """Start ``lrhub serve`` (stderr a pty when ``terminal``), wait until it answers, stop it
    with Ctrl-C; the lines it wrote to stderr."""
    port = free_port()
    env = {**os.environ, "LRHUB_DATABASE_URL": f"sqlite:///{tmp / 'logs.db'}"}
    env["LRHUB_LOG_LEVEL"] = "info"
    env.pop("LRHUB_LOG_JSON", None)
    if log_json is not None:
        env["LRHUB_LOG_JSON"] = log_json
    argv = [sys.executable, "-m", "lrhub_service.cli", "serve", "--port", str(port)]
    argv += ["--workers", str(workers)]
    chunks: list[bytes] = []
    if terminal:
        primary, secondary = pty.openpty()
        proc = subprocess.Popen(
            argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=secondary
        )
        os.close(secondary)

        def pump() -> None:
            while True:
                try:
                    data = os.read(primary, 4096)
                except OSError:  # the pty closes when the server exits
                    return
                if not data:
                    return
                chunks.append(data)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
    else:
        proc = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert proc.poll() is None, "lrhub serve exited early"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("lrhub serve did not answer in 30 s")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if terminal:
        reader.join(timeout=5)
        os.close(primary)
        err = b"".join(chunks)
    text = err.decode()
    return [line.rstrip("\r") for line in text.splitlines() if line.strip()]


def _json_lines(lines: list[str]) -> list[dict[str, object]]:
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= set(entry)
        assert "color_message" not in entry
    return entries


def test_a_terminal_gets_readable_lines(tmp_path: Path) -> None:
    lines = serve_once(tmp_path, terminal=True)
    assert any(READY_TEXT.match(line) for line in lines), lines
    assert any(STARTED_TEXT.match(line) for line in lines), lines
    assert not any(line.startswith("{") for line in lines), lines
    assert "\x1b[" not in "".join(lines)  # no raw colour codes


def test_a_pipe_gets_json_lines_without_colour(tmp_path: Path) -> None:
    entries = _json_lines(serve_once(tmp_path, terminal=False))
    ready = [e for e in entries if e["message"] == "lrhub ready"]
    assert len(ready) == 1
    assert {k: v for k, v in ready[0].items() if k != "time"} == {
        "level": "info",
        "logger": "lrhub.app",
        "message": "lrhub ready",
        "database": "sqlite",
    }
    running = [e for e in entries if str(e["message"]).startswith("Uvicorn running on")]
    assert running and "\x1b" not in json.dumps(entries)


def test_every_worker_process_logs_the_same_way(tmp_path: Path) -> None:
    entries = _json_lines(serve_once(tmp_path, terminal=False, workers=2))
    ready = [e for e in entries if e["message"] == "lrhub ready"]
    assert len(ready) == 2, entries  # one per worker, each a JSON line


def test_json_can_be_forced_on_a_terminal(tmp_path: Path) -> None:
    entries = _json_lines(serve_once(tmp_path, terminal=True, log_json="true"))
    assert any(e["message"] == "lrhub ready" for e in entries)


def test_text_can_be_forced_on_a_pipe(tmp_path: Path) -> None:
    lines = serve_once(tmp_path, terminal=False, log_json="false")
    assert any(READY_TEXT.match(line) for line in lines), lines


def test_the_setting_takes_auto_true_or_false(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LRHUB_LOG_JSON", raising=False)
    assert Settings().log_json == "auto"
    assert Settings(log_json="TRUE").log_json == "true"
    assert Settings(log_json=False).log_json == "false"
    with pytest.raises(ValueError, match="log_json must be auto, true or false"):
        Settings(log_json="sometimes")
