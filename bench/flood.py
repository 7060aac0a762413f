"""The costly requests of issue 9, fired concurrently while /healthz is polled.

Shared by the flood test (tests/faults/test_faults_flood.py) and `python -m bench` (the
"flood" section): each costly request must be refused or answered (never a 500) within
2 s, and /healthz must stay fast meanwhile, because evaluation never holds the event loop.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench._util import Row, free_port, lrhub_command, lrhub_env, percentile, row, serve

HEAVY_LAMBDA = "min(1," + ",".join(["x"] * 240) + ")"
HEAVY_TERM = "min(1," + ",".join(["1/(1+0.001*step)"] * 12) + ")"
ANSWER_GOAL_S = 2.0
HEALTH_EVERY_S = 0.02


def chain(children: int) -> dict[str, Any]:
    """A ChainedScheduler of ``children`` ExponentialLR nodes (base lr in the spec)."""
    exponential = {"type": "ExponentialLR", "gamma": 0.9999}
    return {"type": "ChainedScheduler", "base_lr": 0.1, "schedulers": [exponential] * children}


HEAVY_PRODUCT = {"type": "MultiplicativeLR", "lr_lambda": HEAVY_LAMBDA, "base_lr": 0.1}
COSTLY_RUNS = {
    "expressions": {
        "type": "ChainedScheduler",
        "base_lr": 0.1,
        "schedulers": [{"type": "LambdaLR", "lr_lambda": HEAVY_TERM}] * 50,
    },
    "cosine": {"type": "CosineAnnealingLR", "T_max": 1000, "base_lr": 0.1},
}


@dataclass(frozen=True)
class Case:
    """One costly request."""

    name: str
    method: str
    path: str
    body: dict[str, Any] | None = None


@dataclass
class Outcome:
    case: str
    status: int | None  # None: the connection failed without an answer
    seconds: float
    content_type: str = ""
    retry_after: str | None = None
    body: str = ""


@dataclass
class FloodResult:
    outcomes: list[Outcome] = field(default_factory=list)
    health_seconds: list[float] = field(default_factory=list)
    health_failures: list[str] = field(default_factory=list)


def create_runs(client: httpx.Client) -> dict[str, int]:
    """The runs the costly reads use, by name (created with a run name per process)."""
    ids = {}
    for name, schedule in COSTLY_RUNS.items():
        created = client.post("/v1/runs", json={"name": f"flood-{name}", "schedule": schedule})
        assert created.status_code in (200, 201), created.text
        ids[name] = int(created.json()["id"])
    return ids


def costly_cases(runs: dict[str, int]) -> list[Case]:
    """The issue's costly requests (plus a capped advance), against ``runs``."""
    return [
        Case("preview 10,000 chained x 100,000 steps", "POST", "/v1/preview",
             {"schedule": chain(10_000), "steps": 100_000}),
        Case("preview 1,000 chained x 20,000 steps", "POST", "/v1/preview",
             {"schedule": chain(1_000), "steps": 20_000}),
        Case("MultiplicativeLR 240-term lambda (refused when the run is created)", "POST",
             "/v1/runs", {"name": "flood-multiplicative", "schedule": HEAVY_PRODUCT}),
        Case("window 4,096 over 50 chained expressions", "GET",
             f"/v1/runs/{runs['expressions']}/window?start=0&count=4096"),
        Case("far window (start 2^62)", "GET",
             f"/v1/runs/{runs['cosine']}/window?start=4611686018427387894&count=4096"),
        Case("advance count 1,000,000", "POST", f"/v1/runs/{runs['cosine']}/advance",
             {"count": 1_000_000}),
    ]  # fmt: skip


def _fire(url: str, cases: list[Case], offset: int, rounds: int, result: FloodResult) -> None:
    with httpx.Client(base_url=url, timeout=60.0) as client:
        for turn in range(rounds * len(cases)):
            case = cases[(offset + turn) % len(cases)]
            began = time.perf_counter()
            try:
                answer = client.request(case.method, case.path, json=case.body)
            except httpx.HTTPError as exc:
                result.outcomes.append(Outcome(case.name, None, 0.0, body=repr(exc)))
                continue
            result.outcomes.append(
                Outcome(
                    case.name,
                    answer.status_code,
                    time.perf_counter() - began,
                    answer.headers.get("content-type", ""),
                    answer.headers.get("retry-after"),
                    answer.text[:400],
                )
            )


def _poll_health(url: str, stop: threading.Event, result: FloodResult) -> None:
    with httpx.Client(base_url=url, timeout=10.0) as client:
        while not stop.is_set():
            began = time.perf_counter()
            try:
                status = client.get("/healthz").status_code
                if status != 200:
                    result.health_failures.append(f"status {status}")
            except httpx.HTTPError as exc:
                result.health_failures.append(repr(exc))
            result.health_seconds.append(time.perf_counter() - began)
            time.sleep(HEALTH_EVERY_S)


def _timed_health(client: httpx.Client) -> float:
    began = time.perf_counter()
    client.get("/healthz")
    return time.perf_counter() - began


def flood(url: str, cases: list[Case], *, threads: int = 6, rounds: int = 2) -> FloodResult:
    """``threads`` clients each send every case ``rounds`` times while /healthz is polled."""
    result = FloodResult()
    stop = threading.Event()
    poller = threading.Thread(target=_poll_health, args=(url, stop, result), daemon=True)
    poller.start()
    firing = [
        threading.Thread(target=_fire, args=(url, cases, index, rounds, result), daemon=True)
        for index in range(threads)
    ]
    for thread in firing:
        thread.start()
    for thread in firing:
        thread.join(600)
    stop.set()
    poller.join(30)
    return result


def measure(quick: bool) -> list[Row]:
    """Bench rows: /healthz latency under the flood, and each costly request's worst time."""
    with tempfile.TemporaryDirectory(prefix="lrhub-flood-") as folder:
        port = free_port()
        env = lrhub_env(f"sqlite:///{Path(folder) / 'flood.db'}")
        argv = lrhub_command("serve", "--host", "127.0.0.1", "--port", str(port))
        with serve(argv, port, env) as server, httpx.Client(base_url=server.url) as client:
            cases = costly_cases(create_runs(client))
            idle_ms = [_timed_health(client) * 1000 for _ in range(50)]
            result = flood(server.url, cases, threads=4 if quick else 8, rounds=1 if quick else 3)
    health_ms = [s * 1000 for s in result.health_seconds]
    note = f"{len(health_ms)} polls every {HEALTH_EVERY_S * 1000:g} ms; peer: the same server idle"
    p99 = percentile(health_ms, 0.99)
    rows = [
        row("flood", "/healthz p50 under the flood", statistics.median(health_ms),
            statistics.median(idle_ms), unit="ms", note=note),
        row("flood", "/healthz p99 under the flood", p99, percentile(idle_ms, 0.99),
            unit="ms", goal="<= 100", ok=p99 <= 100, note=note),
    ]  # fmt: skip
    for case in cases:
        mine = [o for o in result.outcomes if o.case == case.name]
        statuses = sorted({str(o.status) for o in mine})
        worst = max((o.seconds for o in mine), default=None)
        ok = worst is not None and worst <= ANSWER_GOAL_S and "500" not in statuses
        rows.append(
            row("flood", f"refuse or answer: {case.name}", worst, unit="s (worst)",
                goal=f"<= {ANSWER_GOAL_S:g}, no 500", ok=ok,
                note=f"statuses {'/'.join(statuses)}, {len(mine)} requests")
        )  # fmt: skip
    return rows


def main(quick: bool) -> list[Row]:
    """Entry point for `python -m bench` (an external section: `main(quick) -> rows`)."""
    return measure(quick)
