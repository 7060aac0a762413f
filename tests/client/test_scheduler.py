"""The torch scheduler in one process against the real server: same values as torch,
momentum handling, per-group LRs, state dicts, prefetching across windows."""

from __future__ import annotations

import io
import os
import time
import warnings

import pytest
import torch
from client_support import assert_same_trace, make_optimizer, read_values, torch_trace

import lrhub

CASES = [
    ("sgd", [0.1], {"type": "CosineAnnealingLR", "T_max": 100, "eta_min": 0.001}),
    ("sgd", [0.1, 0.01, 0.5], {"type": "StepLR", "step_size": 7, "gamma": 0.5}),
    ("sgd", [0.1, 0.2], {"type": "OneCycleLR", "max_lr": [0.4, 0.8], "total_steps": 90}),
    ("adam", [0.1], {"type": "OneCycleLR", "max_lr": 0.3, "total_steps": 90}),
    (
        "sgd",
        [0.1, 0.1],
        {"type": "CyclicLR", "base_lr": 0.001, "max_lr": 0.1, "step_size_up": 9},
    ),
]


def attach_and_step(run: lrhub.Run, optimizer: torch.optim.Optimizer, steps: int, **kw):
    scheduler = run.attach(optimizer, **kw)
    trace = [read_values(optimizer)]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        trace.append(read_values(optimizer))
    return scheduler, trace


@pytest.mark.parametrize(("kind", "groups", "spec"), CASES, ids=[c[2]["type"] for c in CASES])
def test_trace_equals_torch(server, run_name, kind, groups, spec) -> None:
    run = lrhub.Client(server.url).create_run(run_name, spec)
    steps = 80
    scheduler, trace = attach_and_step(run, make_optimizer(kind, groups), steps, window_size=16)
    assert isinstance(scheduler, torch.optim.lr_scheduler.LRScheduler)
    assert_same_trace(trace, torch_trace(spec, groups, steps, optimizer=kind))
    assert scheduler.last_epoch == steps
    assert scheduler.get_last_lr() == trace[-1][0]
    scheduler.close(1.0)
    assert run.refresh().info.progress == steps


def test_base_lrs_come_from_the_first_optimizer(server, run_name) -> None:
    spec = {"type": "ExponentialLR", "gamma": 0.9}
    run = lrhub.Client(server.url).create_run(run_name, spec)
    first = run.attach(make_optimizer("sgd", [0.2, 0.02]))
    assert run.refresh().info.base_lrs == pytest.approx([0.2, 0.02])
    first.close(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lrhub.ResumeWarning)
        second_opt = make_optimizer("sgd", [9.0, 9.0])  # later attaches use the stored bases
        run.attach(second_opt).close(0)
    assert [g["lr"] for g in second_opt.param_groups] == pytest.approx([0.2, 0.02])
    with pytest.raises(lrhub.ConflictError):
        run.attach(make_optimizer("sgd", [0.1]))


def test_momentum_refused_when_the_optimizer_has_none(server, run_name) -> None:
    spec = {"type": "OneCycleLR", "max_lr": 0.3, "total_steps": 50}
    run = lrhub.Client(server.url).create_run(run_name, spec)
    optimizer = make_optimizer("sgd0", [0.1])
    with pytest.raises(lrhub.MomentumNotSupportedError, match="momentum=0"):
        run.attach(optimizer)
    assert optimizer.param_groups[0]["momentum"] == 0.0  # nothing changed
    rms = torch.optim.Adagrad([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(lrhub.MomentumNotSupportedError, match="cycle_momentum=False"):
        run.attach(rms)


def test_state_dict_is_plain_and_resumes(server, run_name) -> None:
    spec = {"type": "CosineAnnealingLR", "T_max": 60}
    run = lrhub.Client(server.url).create_run(run_name, spec)
    optimizer = make_optimizer("sgd", [0.1])
    scheduler, _ = attach_and_step(run, optimizer, 25, window_size=8)
    buffer = io.BytesIO()
    torch.save(scheduler.state_dict(), buffer)
    state = torch.load(io.BytesIO(buffer.getvalue()), weights_only=True)
    assert state["last_epoch"] == 25
    for _ in range(10):
        scheduler.step()
    scheduler.load_state_dict(state)  # back to step 25: the server is told
    assert scheduler.last_epoch == 25
    assert run.refresh().info.progress == 25
    reference = torch_trace(spec, [0.1], 40)
    assert read_values(optimizer)[0] == pytest.approx(reference[25][0], rel=1e-9)
    trace = [read_values(optimizer)]
    for _ in range(15):
        scheduler.step()
        trace.append(read_values(optimizer))
    assert_same_trace(trace, reference, offset=25)
    scheduler.close(1.0)


def test_plateau_in_one_process_equals_torch(server, run_name) -> None:
    spec = {"type": "ReduceLROnPlateau", "factor": 0.5, "patience": 2}
    metrics = [1.0, 0.9, 0.95, 0.93, 0.92, 0.91, 0.97, 0.96, 0.99, 0.5, 0.6, 0.7, 0.8, 0.9]
    run = lrhub.Client(server.url).create_run(run_name, spec)
    optimizer = make_optimizer("sgd", [0.1])
    scheduler = run.attach(optimizer)
    trace = [read_values(optimizer)]
    for metric in metrics:
        optimizer.step()
        scheduler.step(metric)
        trace.append(read_values(optimizer))
    assert_same_trace(trace, torch_trace(spec, [0.1], len(metrics), metrics=metrics))
    assert [r["step"] for r in run.reports()] == list(range(1, len(metrics) + 1))
    scheduler.close(0.5)


def test_stepping_past_a_report_point_without_a_metric_warns_and_holds(server, run_name) -> None:
    spec = {"type": "ReduceLROnPlateau", "factor": 0.5, "patience": 0}
    run = lrhub.Client(server.url).create_run(run_name, spec)
    optimizer = make_optimizer("sgd", [0.1])
    scheduler = run.attach(optimizer)
    with warnings.catch_warnings():
        warnings.simplefilter("error", lrhub.OutageWarning)
        scheduler.step(1.0)  # a report at step 1: no warning
        scheduler.step()  # step 2 needs a report too: waits quietly at the report step
    with pytest.warns(lrhub.OutageWarning, match="needs a report at step 2"):
        scheduler.step()  # stepping past it without a report is a mistake
    assert scheduler.get_last_lr() == [0.1]  # the last value is held
    scheduler.close(0.5)


def test_transient_faults_in_window_fetches_change_nothing(server, run_name, faults) -> None:
    spec = {"type": "CosineAnnealingLR", "T_max": 200}
    client = lrhub.Client(server.url, transport=faults, backoff_initial=0.01, backoff_max=0.05)
    run = client.create_run(run_name, spec)
    optimizer = make_optimizer("sgd", [0.1])
    scheduler = run.attach(optimizer, window_size=10, progress_every_s=60)
    trace = [read_values(optimizer)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", lrhub.OutageWarning)
        for step in range(60):
            if step % 10 == 5:  # between two prefetches (each asked for at a window's end)
                faults.inject(503, (429, "0"))  # the next prefetch: retried (2 retries)
            scheduler.step()
            trace.append(read_values(optimizer))
            time.sleep(0.01)
    scheduler.close(1.0)
    assert_same_trace(trace, torch_trace(spec, [0.1], 60))
    fetched = [r for r in faults.seen if r.url.path.endswith("/window")]
    assert len(fetched) >= 6 and not faults.faults


def test_progress_is_reported_in_the_background_with_identity(server, run_name) -> None:
    run = lrhub.Client(server.url).create_run(run_name, {"type": "StepLR", "step_size": 3})
    scheduler = run.attach(make_optimizer("sgd", [0.1]), progress_every_s=0.2)
    for _ in range(5):
        scheduler.step()
    deadline = time.monotonic() + 5
    while run.refresh().info.progress != 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert run.info.progress == 5  # without close(): the background thread sent it
    attached = [e for e in run.events() if e.kind == "attached"]
    assert attached[0].data["worker"]["pid"] == os.getpid()
    assert attached[0].data["worker"]["world_size"] == 1
    scheduler.close(1.0)


def test_many_groups_hold_fewer_steps_by_default() -> None:
    from lrhub.scheduler import HELD_VALUES_MAX, default_ahead

    def optimizer(groups: int) -> torch.optim.Optimizer:
        params = [{"params": [torch.nn.Parameter(torch.zeros(1))]} for _ in range(groups)]
        return torch.optim.SGD(params, lr=0.1)

    assert default_ahead(32_768, optimizer(1)) == 65_536  # two windows
    assert default_ahead(32_768, optimizer(100)) == HELD_VALUES_MAX // 200
    assert default_ahead(32_768, optimizer(10_000)) == 1024  # never below a floor...
    assert default_ahead(100, optimizer(1)) == 200  # ...except two small windows
