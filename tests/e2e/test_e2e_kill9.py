"""A server killed with SIGKILL under advance load never hands out an acknowledged step twice."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from e2e_support import WORKER, acknowledged, create_run

WORKERS = 6


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_sigkill_under_load_never_repeats_an_acknowledged_step(
    database_url: str, live_server: Callable[..., Any], tmp_path: Path
) -> None:
    """Load, kill -9, restart on the same port and database, load again: steps stay unique."""
    server = live_server(database_url)
    run_id = create_run(server.url, "e2e-kill9")
    stop_file = tmp_path / "stop"
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), server.url, str(run_id), "0", str(stop_file)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(WORKERS)
    ]
    try:
        time.sleep(1.0)
        killed_at = time.time()
        server.kill()
        time.sleep(0.2)
        server.start()
        restarted_at = time.time()
        time.sleep(1.0)
    finally:
        stop_file.touch()
    outputs = [worker.communicate(timeout=60) for worker in workers]
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
    values = [value for out, _ in outputs for value in acknowledged(out)]
    steps = [int(value["step"]) for value in values]
    before = [int(v["step"]) for v in values if v["t"] < killed_at]
    after = [int(v["step"]) for v in values if v["t"] > restarted_at]
    assert before, "no advance was acknowledged before the kill"
    assert after, "no advance was acknowledged after the restart"
    duplicates = sorted(step for step, seen in Counter(steps).items() if seen > 1)
    assert not duplicates, f"steps handed out twice across a SIGKILL: {duplicates[:10]}"
    assert min(after) > max(before), "the restarted server went back behind an acknowledged step"
