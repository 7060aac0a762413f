"""Several training processes on one run, against the real server: same values as
torch's own scheduler on every rank, across checkpoints and restarts."""

from __future__ import annotations

from pathlib import Path

from client_support import assert_same_trace, run_workers, torch_trace

ONE_CYCLE = {"type": "OneCycleLR", "max_lr": 0.4, "total_steps": 200}


def test_four_ranks_share_one_trace(server, run_name) -> None:
    groups = [0.1, 0.05]
    jobs = [
        {
            "url": server.url,
            "name": run_name,
            "schedule": ONE_CYCLE,
            "groups": groups,
            "steps": 150,
            "attach": {"window_size": 32},
            "env_rank": rank,
        }
        for rank in range(4)
    ]
    results = run_workers(jobs)
    reference = torch_trace(ONE_CYCLE, groups, 150)
    for result in results:
        assert result["start"] == 0
        assert_same_trace(result["trace"], reference)
    assert all(r["trace"] == results[0]["trace"] for r in results)  # bit-identical ranks


def test_checkpoint_in_one_process_resumes_in_another(server, run_name, tmp_path: Path) -> None:
    spec = {"type": "CyclicLR", "base_lr": 0.01, "max_lr": 0.1, "step_size_up": 13}
    groups = [0.1]
    checkpoint = str(tmp_path / "ckpt.pt")
    base = {"url": server.url, "name": run_name, "schedule": spec, "groups": groups}
    (first,) = run_workers([{**base, "steps": 37, "state_out": checkpoint, "exit": "crash"}])
    # The second process runs past the checkpoint and dies (progress beyond it)...
    (second,) = run_workers([{**base, "steps": 20, "state_in": checkpoint}])
    # ...the third resumes from the checkpoint: the checkpoint's step is authoritative.
    (third,) = run_workers([{**base, "steps": 40, "state_in": checkpoint}])
    reference = torch_trace(spec, groups, 80)
    assert_same_trace(first["trace"], reference)
    assert second["start"] == 37 and third["start"] == 37
    assert_same_trace(second["trace"], reference, offset=37)
    assert_same_trace(third["trace"], reference, offset=37)


def test_restart_without_state_continues_where_the_run_stood(server, run_name) -> None:
    spec = {"type": "CosineAnnealingLR", "T_max": 100, "eta_min": 0.001}
    base = {"url": server.url, "name": run_name, "schedule": spec, "groups": [0.2]}
    (first,) = run_workers([{**base, "steps": 30}])  # clean exit flushes progress
    (second,) = run_workers([{**base, "steps": 30}])  # no checkpoint at all
    reference = torch_trace(spec, [0.2], 60)
    assert first["start"] == 0 and second["start"] == 30
    assert "ResumeWarning" in second["stderr"] and "step 30" in second["stderr"]
    assert_same_trace(first["trace"] + second["trace"][1:], reference)


def test_plateau_stepped_by_two_processes_equals_torch(server, run_name) -> None:
    spec = {"type": "ReduceLROnPlateau", "factor": 0.5, "patience": 1, "threshold": 0.01}
    metrics = [1.0, 0.8, 0.85, 0.81, 0.9, 0.7, 0.71, 0.72, 0.73, 0.4, 0.41, 0.5, 0.6, 0.3]
    metrics = metrics * 2
    base = {"url": server.url, "name": run_name, "schedule": spec, "groups": [0.1, 0.3]}
    results = run_workers([{**base, "steps": len(metrics), "metrics": metrics}] * 2)
    reference = torch_trace(spec, [0.1, 0.3], len(metrics), metrics=metrics)
    for result in results:
        assert_same_trace(result["trace"], reference)
