"""Many processes through two `lrhub serve` processes on one PostgreSQL database."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from e2e_support import WORKER, acknowledged, create_run

PROCESSES, ADVANCES = 16, 100


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_sixteen_processes_two_servers_take_every_step_once(
    database_url: str, live_server: Callable[..., Any]
) -> None:
    """16 processes x 100 advances over two servers: 1,600 distinct steps, no gaps."""
    servers = [live_server(database_url), live_server(database_url)]
    run_id = create_run(servers[0].url, "e2e-shared-counter")
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), servers[i % 2].url, str(run_id), str(ADVANCES)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(PROCESSES)
    ]
    steps: list[int] = []
    for worker in workers:
        out, err = worker.communicate(timeout=150)
        assert worker.returncode == 0, err
        got = acknowledged(out)
        assert len(got) == ADVANCES
        steps += [int(value["step"]) for value in got]
    total = PROCESSES * ADVANCES
    assert len(set(steps)) == len(steps) == total, "a step was handed out twice"
    assert sorted(steps) == list(range(min(steps), min(steps) + total)), "gap in the steps"
    with httpx.Client(base_url=servers[1].url, timeout=10) as client:
        run = client.get(f"/v1/runs/{run_id}").json()
        taken = client.post(f"/v1/runs/{run_id}/advance", json={"count": 1}).json()
    assert run["horizon"] >= max(steps)
    assert taken["step"] == max(steps) + 1, "the counter did not continue after the last step"
