"""One live-server launcher for every suite: a real ``lrhub serve`` on a free loopback port
(the ``live_server`` fixture in tests/conftest.py builds these; module-scoped suites such as
tests/dashboard build one directly)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

READY_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """A ``lrhub serve`` subprocess on loopback."""

    def __init__(
        self, database_url: str, env: dict[str, str], workers: int, log: Path, until: str
    ) -> None:
        self.database_url = database_url
        self.until = until  # the path that must answer 200 before start() returns
        self.env = env
        self.workers = workers
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        env = {**os.environ, "LRHUB_LOG_LEVEL": "warning", **self.env}
        env["LRHUB_DATABASE_URL"] = self.database_url
        argv = [sys.executable, "-m", "lrhub_service.cli", "serve", "--host", "127.0.0.1"]
        argv += ["--port", str(self.port), "--workers", str(self.workers)]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"lrhub serve exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}{self.until}", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(
            f"lrhub serve not ready in {READY_TIMEOUT}s: {self.log.read_text()[-2000:]}"
        )

    def _signal(self, sig: int) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)

    def kill(self) -> None:
        """SIGKILL the server (and its workers)."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """Stop gracefully."""
        self._signal(signal.SIGTERM)

    def restart(self) -> LiveServer:
        """Kill -9 and start again on the same port."""
        self.kill()
        return self.start()
