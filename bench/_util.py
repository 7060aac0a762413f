"""Shared helpers for the benchmarks: rows, statistics, databases, servers and wrk."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

Row = dict[str, Any]
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def row(
    section: str,
    metric: str,
    ours: float | None,
    peer: float | None = None,
    *,
    unit: str = "",
    goal: str = "",
    ratio: float | None = None,
    ok: bool | None = None,
    note: str = "",
) -> Row:
    """One line of the benchmark table (the format bench/client.py and bench/engine.py return)."""
    if ratio is None and ours is not None and peer:
        ratio = ours / peer
    return {
        "section": section,
        "metric": metric,
        "ours": ours,
        "peer": peer,
        "ratio": ratio,
        "unit": unit,
        "goal": goal,
        "ok": ok,
        "note": note,
    }


def spread(values: Sequence[float]) -> tuple[float, float, float]:
    """Median, min and max of some measurements."""
    return statistics.median(values), min(values), max(values)


def spread_note(values: Sequence[float], fmt: str = "{:.2f}") -> str:
    """'median of N, min-max a-b' for a table note."""
    _, low, high = spread(values)
    return f"{len(values)} rounds, min-max {fmt.format(low)}-{fmt.format(high)}"


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of a list (fraction 0.5 = median, 0.99 = p99)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def with_database(url: str, name: str) -> str:
    """The same PostgreSQL URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def _admin_connect(admin_url: str) -> Any:
    import psycopg

    return psycopg.connect(with_database(admin_url, "postgres"), autocommit=True, connect_timeout=5)


@contextlib.contextmanager
def postgres_database(admin_url: str, prefix: str = "lrhub_bench") -> Iterator[str]:
    """Create a throwaway PostgreSQL database, yield its URL, drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with _admin_connect(admin_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(admin_url, name)
    finally:
        with _admin_connect(admin_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def lrhub_env(database_url: str, **extra: str) -> dict[str, str]:
    """Environment for an `lrhub` command on a database, quiet logs, no tokens."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LRHUB_")}
    env.update(LRHUB_DATABASE_URL=database_url, LRHUB_LOG_LEVEL="warning", **extra)
    return env


def lrhub_command(*args: str) -> list[str]:
    """The `lrhub` console script, next to this interpreter when installed there."""
    script = Path(sys.executable).with_name("lrhub")
    return [str(script) if script.exists() else "lrhub", *args]


def db_upgrade(*database_urls: str) -> None:
    """Run `lrhub db upgrade` on each database, all at once."""
    procs = [
        subprocess.Popen(
            lrhub_command("db", "upgrade"),
            env=lrhub_env(url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for url in database_urls
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"lrhub db upgrade failed: {err.decode()[-500:]}")


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until GET url answers 200; raise if the process died or time ran out."""
    parts = urlsplit(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered")
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
            conn.request("GET", parts.path or "/")
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer 200 within {timeout} s")


@dataclass
class Server:
    """A running server process and its base URL."""

    proc: subprocess.Popen[bytes]
    url: str

    @property
    def pid(self) -> int:
        return self.proc.pid


def launch(argv: list[str], port: int, env: dict[str, str], cwd: Path = REPO_ROOT) -> Server:
    """Start a server in its own process group (not waiting for it; see `serve`)."""
    proc = subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return Server(proc, f"http://127.0.0.1:{port}")


@contextlib.contextmanager
def serve(
    argv: list[str], port: int, env: dict[str, str], ready_path: str = "/healthz"
) -> Iterator[Server]:
    """Start a server, wait for ready_path, stop it afterwards."""
    server = launch(argv, port, env)
    try:
        wait_http(server.url + ready_path, proc=server.proc)
        yield server
    finally:
        stop_group(server.proc)


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, SIGKILL it if it lingers."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children, in MiB (Linux /proc)."""
    total_kib = 0
    pids = [pid]
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(child) for child in children]
    for one in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
    return total_kib / 1024


def http_json(url: str, method: str = "GET", body: Any = None, timeout: float = 30.0) -> Any:
    """One JSON request with http.client; raise on a non-2xx answer."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data is not None else {}
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        payload = response.read()
    finally:
        conn.close()
    if not 200 <= response.status < 300:
        raise RuntimeError(f"{method} {url}: {response.status} {payload[:300]!r}")
    return json.loads(payload) if payload else None


@dataclass
class WrkResult:
    """What one wrk run measured."""

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"cannot read wrk latency {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def wrk(
    url: str, connections: int, seconds: int, *, threads: int = 2, script: Path | None = None
) -> WrkResult:
    """Run wrk against url and read requests/s, p50, p99 and error counts from its report."""
    argv = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(1, int(seconds))}s",
    ]
    argv += ["--latency", "--timeout", "10s"]
    if script is not None:
        argv += ["-s", str(script)]
    out = subprocess.run(
        [*argv, url], capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = 0
    for match in re.finditer(r"(connect|read|write|timeout) (\d+)", out):
        errors += int(match.group(2))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors += int(non2xx.group(1)) if non2xx else 0
    return WrkResult(rps=rps, p50_ms=p50, p99_ms=p99, errors=errors)
