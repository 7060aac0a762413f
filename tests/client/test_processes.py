"""Several training processes on one run, against the real server: same values as
torch's own scheduler on every rank, across checkpoints and restarts."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from client_support import (
    assert_same_trace,
    fork_workers,
    make_optimizer,
    read_values,
    run_workers,
    torch_trace,
)
from support.server import free_port

import lrhub

ONE_CYCLE = {"type": "OneCycleLR", "max_lr": 0.4, "total_steps": 200}


def test_four_ranks_share_one_trace(server, run_name) -> None:
    groups = [0.1, 0.05]
    port = free_port()
    jobs = [
        {
            "url": server.url,
            "name": run_name,
            "schedule": ONE_CYCLE,
            "groups": groups,
            "steps": 150,
            "attach": {"window_size": 32},
            "dist": {"port": port, "rank": rank, "world_size": 4},
        }
        for rank in range(4)
    ]
    results = fork_workers(jobs)
    reference = torch_trace(ONE_CYCLE, groups, 150)
    assert sorted(r["rank"] for r in results) == [0, 1, 2, 3]  # identity from torch.distributed
    for result in results:
        assert result["start"] == 0 and result["world_size"] == 4
        assert_same_trace(result["trace"], reference)
    assert all(r["trace"] == results[0]["trace"] for r in results)  # bit-identical ranks


def test_checkpoint_in_one_process_resumes_in_another(server, run_name, tmp_path: Path) -> None:
    spec = {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 13}
    checkpoint = str(tmp_path / "ckpt.pt")
    run = lrhub.Client(server.url).create_run(run_name, spec)
    optimizer = make_optimizer("sgd", [0.1])
    scheduler = run.attach(optimizer, window_size=16)
    first = [read_values(optimizer)]
    for step in range(1, 58):
        optimizer.step()
        scheduler.step()
        first.append(read_values(optimizer))
        if step == 37:
            torch.save((optimizer.state_dict(), scheduler.state_dict()), checkpoint)
    scheduler.close(2.0)  # the run's progress is now 57, past the checkpoint
    assert run.refresh().info.progress == 57
    base = {"url": server.url, "name": run_name, "schedule": spec, "groups": [0.1]}
    (second,) = fork_workers([{**base, "steps": 40, "state_in": checkpoint}])
    reference = torch_trace(spec, [0.1], 80)
    assert_same_trace(first, reference)
    assert second["start"] == 37  # the checkpoint's step is authoritative
    assert_same_trace(second["trace"], reference, offset=37)
    assert run.refresh().info.progress == 77


def test_restart_without_state_continues_where_the_run_stood(server, run_name) -> None:
    spec = {"type": "CosineAnnealingLR", "T_max": 100, "eta_min": 0.001}
    base = {"url": server.url, "name": run_name, "schedule": spec, "groups": [0.2]}
    (first,) = run_workers([{**base, "steps": 30}])  # its clean exit records progress 30
    run = lrhub.Client(server.url).create_run(run_name, spec)
    assert run.info.clean_exit is True
    optimizer = make_optimizer("sgd", [0.2])
    with warnings.catch_warnings():
        warnings.simplefilter("error", lrhub.ResumeWarning)  # a clean exit: no warning
        scheduler = run.attach(optimizer)  # no checkpoint, no scheduler state at all
    second = [read_values(optimizer)]
    for _ in range(30):
        optimizer.step()
        scheduler.step()
        second.append(read_values(optimizer))
    run.report_progress(60)  # its periodic report, then the process dies: no final flush
    scheduler._driver.prefetcher.stop()  # as if killed: no final progress is ever sent
    assert first["start"] == 0 and scheduler.last_epoch == 60
    assert_same_trace(first["trace"] + second[1:], torch_trace(spec, [0.2], 60))
    crashed_opt = make_optimizer("sgd", [0.2])
    crashed = run.attach(crashed_opt)  # warns at its first step, unless a checkpoint loads
    assert crashed.last_epoch == 60
    crashed_opt.step()
    with pytest.warns(lrhub.ResumeWarning, match="without a clean exit.*step 60"):
        crashed.step()
    crashed.close(1.0)


def test_plateau_stepped_by_two_processes_equals_torch(server, run_name) -> None:
    spec = {"type": "ReduceLROnPlateau", "factor": 0.5, "patience": 1, "threshold": 0.01}
    metrics = [1.0, 0.8, 0.85, 0.81, 0.9, 0.7, 0.71, 0.72, 0.73, 0.4, 0.41, 0.5, 0.6, 0.3]
    metrics = metrics * 2
    base = {"url": server.url, "name": run_name, "schedule": spec, "groups": [0.1, 0.3]}
    port = free_port()
    jobs = [
        {
            **base,
            "steps": len(metrics),
            "metrics": metrics,
            "dist": {"port": port, "rank": rank, "world_size": 2},
        }
        for rank in range(2)
    ]
    results = fork_workers(jobs)
    reference = torch_trace(spec, [0.1, 0.3], len(metrics), metrics=metrics)
    for result in results:
        assert_same_trace(result["trace"], reference)
