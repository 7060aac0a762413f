"""Done-when test of issue 10, point 5: ranks agree by construction, decided on the server.

Ten torchrun launches of two ranks continue one ReduceLROnPlateau run. Rank 1 attaches
0 to 2 s after rank 0 (spread over the launches), while rank 0 is already stepping, and the
ranks report different metrics at every report point. Every rank gets the same values at
every step, and they equal torch's ReduceLROnPlateau fed the ranks' mean metric. The
clients run no collective (no process group at all): the server fixes each launch's start
step and decides each report point on the mean.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import torch
from client_support import WORKER, assert_same_trace, free_port, make_optimizer, read_values

import lrhub
from lrhub.cursor import Block, WindowCursor
from lrhub.driver import progress_step
from lrhub.identity import WorkerIdentity, detect_identity

LAUNCHES = 10
STEPS = 8  # per launch
INTERVAL = 4  # a report point every 4 steps: rank 0 steps ahead between them
SPREAD = 0.25  # rank 0 reports metric - 0.125, rank 1 metric + 0.125
SPEC = {"type": "ReduceLROnPlateau", "factor": 0.5, "patience": 1, "threshold": 0.01}
METRICS = [1.0, 0.9, 0.95, 0.92, 0.8, 0.85, 0.9, 0.7, 0.72, 0.75]
METRICS += [0.6, 0.65, 0.7, 0.71, 0.5, 0.55, 0.56, 0.57, 0.4, 0.45]


def metric_at(total: int) -> list[float | None]:
    """The mean metric each report point gets, by global step (None: no report there)."""
    points = iter(METRICS)
    return [next(points) if k and k % INTERVAL == 0 else None for k in range(total + 1)]


def plateau_reference(metrics: list[float | None], groups: list[float]) -> list[Any]:
    """torch's ReduceLROnPlateau fed, at each report point, the mean of the ranks' metrics."""
    optimizer = make_optimizer("sgd", groups)
    kwargs = {k: v for k, v in SPEC.items() if k != "type"}
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, **kwargs)
    trace = [read_values(optimizer)]
    for metric in metrics[1:]:
        if metric is not None:
            optimizer.step()
            ranks = [metric - SPREAD / 2, metric + SPREAD / 2]
            scheduler.step(math.fsum(ranks) / 2)  # what the server computes
        trace.append(read_values(optimizer))
    return trace


def launch(job: dict[str, Any], out: Path, timeout: float = 60.0) -> list[dict[str, Any]]:
    """One torchrun launch of two ranks; each rank's result."""
    argv = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    argv += ["--master_addr", "127.0.0.1", "--master_port", str(free_port())]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [*argv, str(WORKER), json.dumps({**job, "out": str(out / "rank{rank}.json")})],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads((out / f"rank{rank}.json").read_text()) for rank in (0, 1)]


def test_ranks_of_torchrun_launches_agree_and_decide_on_the_mean(
    server: Any, run_name: str, tmp_path: Path
) -> None:
    total = LAUNCHES * STEPS
    metrics = metric_at(total)
    groups = [0.1]
    reference = plateau_reference(metrics, groups)
    job = {
        "url": server.url,
        "name": run_name,
        "schedule": SPEC,
        "options": {"report_interval": INTERVAL},
        "groups": groups,
        "steps": STEPS,
        "metric_at": metrics,
        "metric_spread": SPREAD,
        "step_sleep_s": 0.05,
        "attach": {"progress_every_s": 0.1},
    }
    ahead = 0  # launches where rank 0 had recorded progress before rank 1 attached
    for i in range(LAUNCHES):
        delay = round(2.0 * i / (LAUNCHES - 1), 3)
        out = tmp_path / f"launch{i}"
        out.mkdir()
        began = time.monotonic()
        rank0, rank1 = launch({**job, "delays": {"1": delay}}, out)
        took = time.monotonic() - began
        assert rank0["launch"] == rank1["launch"] and rank0["world_size"] == 2
        assert rank0["start"] == rank1["start"] == i * STEPS, (i, delay, rank0, rank1)
        assert rank0["trace"] == rank1["trace"]  # bit-identical values at every step
        assert_same_trace(rank0["trace"], reference, offset=i * STEPS)
        ahead += rank1["progress_seen"] > rank1["start"]
        print(
            f"launch {i}: rank 1 {delay:.2f} s late, saw progress "
            f"{rank1['progress_seen']} at start {rank1['start']}, {took:.1f} s"
        )
    lrs = {lr for lrs, _moms in reference for lr in lrs}
    assert len(lrs) >= 3  # the mean metric made several plateau decisions
    assert ahead >= 1  # rank 1 came after rank 0 moved on, and still started with it


def test_the_launch_comes_from_torchrun_or_from_attach(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"RANK": "1", "WORLD_SIZE": "2", "MASTER_ADDR": "10.0.0.1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MASTER_PORT", "29500")
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "job7")
    monkeypatch.setenv("TORCHELASTIC_RESTART_COUNT", "2")
    assert detect_identity().launch == "job7@10.0.0.1:29500#2"  # a restart is a new launch
    assert detect_identity("mine").launch == "mine"
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert detect_identity().launch is None and "launch" not in detect_identity().to_json()


def test_a_report_waits_for_the_other_rank_and_both_get_the_mean(
    server: Any, run_name: str
) -> None:
    run = lrhub.Client(server.url).create_run(run_name, SPEC)

    def rank(r: int) -> WorkerIdentity:
        return WorkerIdentity(rank=r, world_size=2, local_rank=r, host="h", pid=r, launch="x")

    for r in (0, 1):
        run.register_worker([0.1], None, rank(r))
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(run.report, 1, 1.0, worker=rank(0))
        time.sleep(0.3)  # rank 0 waits for rank 1 meanwhile
        assert not first.done()
        second = pool.submit(run.report, 1, 2.0, worker=rank(1))
        answers = [first.result(timeout=10), second.result(timeout=10)]
    assert answers[0] == answers[1] and answers[0].pending is None
    assert [r["metrics"]["loss"] for r in run.reports()] == [1.5]


class OlderServer(httpx.BaseTransport):
    """The real server, refusing ``worker.launch`` as a server older than launches does."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.refused = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and b'"launch"' in request.content:
            self.refused += 1
            problem = {
                "type": "https://lrhub.dev/problems/422",
                "title": "Unprocessable Content",
                "status": 422,
                "detail": "worker.launch: Extra inputs are not permitted",
                "errors": [{"loc": "worker.launch", "msg": "Extra inputs are not permitted"}],
            }
            return httpx.Response(422, json=problem, request=request)
        return self.inner.handle_request(request)


def test_a_server_older_than_launches_is_sent_none(
    server: Any, run_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    transport = OlderServer()
    run = lrhub.Client(server.url, transport=transport).create_run(run_name, SPEC)
    optimizer = make_optimizer("sgd", [0.1])
    scheduler = run.attach(optimizer)
    assert scheduler.identity.launch is not None and transport.refused == 1
    optimizer.step()
    scheduler.step(1.0)  # the report goes without the launch: no second refusal
    assert transport.refused == 1 and scheduler.get_last_lr() == [0.1]
    scheduler.close(1.0)


def test_progress_never_records_a_report_point_still_pending() -> None:
    cursor = WindowCursor(-1)
    cursor.offer(Block(start=0, lrs=[[0.1, 0.1, 0.1, 0.1]], next_report=4))
    for _ in range(4):
        cursor.advance()
    assert cursor.step == 3 and progress_step(cursor) == 3
    assert cursor.advance() == -1  # holding at the report point, waiting for the decision
    assert progress_step(cursor) == 3
