"""Drop-in fidelity with torch's schedulers, against the real server: tensor learning
rates, refused misuse (step(number), add_param_group, a second scheduler), ValueError for
invalid input, torch's step-order warning, ResumeWarning, collection of dropped
schedulers, and checkpoints written by the previous client."""

from __future__ import annotations

import gc
import threading
import time
import warnings
import weakref

import pytest
import torch
from client_support import assert_same_trace, make_optimizer, read_values, torch_trace
from test_scheduler import CASES

import lrhub

ORDER_WARNING = r"Detected call of `lr_scheduler.step\(\)` before `optimizer.step\(\)`"


def tensor_optimizer(kind: str, groups: list[float]) -> torch.optim.Optimizer:
    """``make_optimizer`` with tensor learning rates (as capturable/compiled setups use);
    float64 tensors, so values compare to 1e-9 as floats do."""
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": f64(lr)} for lr in groups]
    if kind == "adam":
        return torch.optim.Adam(params, lr=f64(groups[0]))
    return torch.optim.SGD(params, lr=f64(groups[0]), momentum=0.9)


def f64(value: float) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64)


@pytest.mark.parametrize(("kind", "groups", "spec"), CASES, ids=[c[2]["type"] for c in CASES])
def test_tensor_learning_rates_are_set_in_place_like_torch(
    server, run_name, kind, groups, spec
) -> None:
    run = lrhub.Client(server.url).create_run(run_name, spec)
    optimizer = tensor_optimizer(kind, groups)
    tensors = [g["lr"] for g in optimizer.param_groups]
    scheduler = run.attach(optimizer, window_size=16)
    trace = [read_values(optimizer)]
    for _ in range(60):
        optimizer.step()
        scheduler.step()
        trace.append(read_values(optimizer))
    scheduler.close(0.5)
    assert all(g["lr"] is t for g, t in zip(optimizer.param_groups, tensors, strict=True))
    reference_opt = tensor_optimizer(kind, groups)
    kwargs = {k: v for k, v in spec.items() if k != "type"}
    theirs = getattr(torch.optim.lr_scheduler, spec["type"])(reference_opt, **kwargs)
    reference = [read_values(reference_opt)]
    for _ in range(60):
        reference_opt.step()
        theirs.step()
        reference.append(read_values(reference_opt))
    assert_same_trace(trace, reference)
    assert_same_trace(trace, torch_trace(spec, groups, 60, optimizer=kind))


def test_step_with_a_number_is_refused_on_a_run_that_is_not_metric_driven(server, run_name) -> None:
    run = lrhub.Client(server.url).create_run(run_name, {"type": "StepLR", "step_size": 2})
    optimizer = make_optimizer("sgd", [0.1])
    scheduler = run.attach(optimizer)
    optimizer.step()
    scheduler.step()
    with pytest.raises(lrhub.SchedulerUsageError, match=r"load_state_dict.*run\.resume") as exc:
        scheduler.step(5)
    assert isinstance(exc.value, ValueError)
    with pytest.raises(ValueError, match="one step at a time"):
        scheduler.step(epoch=7)
    assert scheduler.last_epoch == 1  # nothing moved
    assert run.reports() == []  # and nothing was reported
    with pytest.warns(UserWarning, match="deprecated"):
        scheduler.step(epoch=2)  # the next step, as torch's deprecated form: allowed
    assert scheduler.last_epoch == 2
    scheduler.close(0.5)


def test_add_param_group_after_attach_raises_on_the_next_step(server, run_name) -> None:
    run = lrhub.Client(server.url).create_run(run_name, {"type": "ExponentialLR", "gamma": 0.9})
    optimizer = make_optimizer("sgd", [0.1])
    scheduler = run.attach(optimizer)
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    optimizer.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.5})
    with pytest.raises(lrhub.SchedulerUsageError, match="add_param_group"):
        scheduler.step()
    assert scheduler.last_epoch == 3
    scheduler.close(0.5)


def test_a_second_scheduler_on_one_optimizer_is_refused(server, run_name) -> None:
    client = lrhub.Client(server.url)
    first_run = client.create_run(run_name, {"type": "ExponentialLR", "gamma": 0.9})
    other_run = client.create_run(run_name + "-b", {"type": "StepLR", "step_size": 3})
    optimizer = make_optimizer("sgd", [0.1])
    first = first_run.attach(optimizer)
    with pytest.raises(lrhub.SchedulerUsageError, match="ChainedScheduler"):
        other_run.attach(optimizer)
    first.close(0.5)
    other_run.attach(optimizer).close(0.5)  # once the first is closed, it may go


def test_validation_errors_at_attach_are_value_errors(server, run_name) -> None:
    run = lrhub.Client(server.url).create_run(run_name, {"type": "ExponentialLR", "gamma": 0.9})
    optimizer = make_optimizer("sgd", [0.0])  # the server needs positive base LRs
    with pytest.raises(ValueError, match="base_lrs") as exc:
        run.attach(optimizer)
    assert isinstance(exc.value, lrhub.BadRequestError)
    with pytest.raises(ValueError, match="window_size"):
        run.attach(make_optimizer("sgd", [0.1]), window_size=0)
    with pytest.raises(ValueError):
        lrhub.Client(server.url).create_run(run_name + "x", {"type": "StepLR", "step_size": -1})


def test_torchs_step_order_warning(server, run_name) -> None:
    run = lrhub.Client(server.url).create_run(run_name, {"type": "StepLR", "step_size": 2})
    wrong = run.attach(make_optimizer("sgd", [0.1]))
    with pytest.warns(UserWarning, match=ORDER_WARNING):
        wrong.step()  # before any optimizer.step()
    wrong.close(0)
    right_opt = make_optimizer("sgd", [0.1])
    right = run.attach(right_opt)
    right_opt.step()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=ORDER_WARNING)
        right.step()
    right.close(0)


def crashed_run(server, run_name: str, steps: int) -> lrhub.Run:
    """A run whose last worker stopped at ``steps`` without a clean exit."""
    run = lrhub.Client(server.url).create_run(run_name, {"type": "CosineAnnealingLR", "T_max": 90})
    optimizer = make_optimizer("sgd", [0.1])
    scheduler = run.attach(optimizer)
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
    run.report_progress(steps)
    scheduler._driver.prefetcher.stop()  # dies: no final progress
    return run


def test_resume_warning_only_without_a_checkpoint(server, run_name) -> None:
    run = crashed_run(server, run_name, 20)
    checkpoint = {
        "lrhub_run_id": run.id,
        "lrhub_run_name": run.name,
        "last_epoch": 12,
        "_step_count": 13,
        "base_lrs": [0.1],
        "_last_lr": [0.0],
    }
    optimizer = make_optimizer("sgd", [0.1])
    with warnings.catch_warnings():
        warnings.simplefilter("error", lrhub.ResumeWarning)
        scheduler = run.attach(optimizer)  # no warning at attach: a checkpoint may follow
        scheduler.load_state_dict(checkpoint)
        optimizer.step()
        scheduler.step()
    assert scheduler.last_epoch == 13
    run.report_progress(30)
    scheduler._driver.prefetcher.stop()
    again_opt = make_optimizer("sgd", [0.1])
    again = run.attach(again_opt)
    again_opt.step()
    with pytest.warns(lrhub.ResumeWarning, match="step 30"):
        again.step()
    again.close(0)


def test_a_checkpoint_of_the_previous_client_loads(server, run_name) -> None:
    """The exact state_dict shape the previous client wrote (plain values only)."""
    spec = {"type": "CosineAnnealingLR", "T_max": 60}
    run = lrhub.Client(server.url).create_run(run_name, spec)
    reference = torch_trace(spec, [0.1], 40)
    old_state = {
        "lrhub_run_id": run.id,
        "lrhub_run_name": run.name,
        "last_epoch": 25,
        "_step_count": 26,
        "base_lrs": [0.1],
        "_last_lr": [reference[25][0][0]],
    }
    optimizer = make_optimizer("sgd", [0.1])
    scheduler = run.attach(optimizer)
    scheduler.load_state_dict(old_state)
    assert scheduler.last_epoch == 25 and run.refresh().info.progress == 25
    trace = [read_values(optimizer)]
    for _ in range(10):
        optimizer.step()
        scheduler.step()
        trace.append(read_values(optimizer))
    assert_same_trace(trace, reference, offset=25)
    assert set(scheduler.state_dict()) == set(old_state)  # and it writes the same shape
    scheduler.close(0.5)


def test_a_dropped_scheduler_is_collected_and_its_thread_ends(server, run_name) -> None:
    run = lrhub.Client(server.url).create_run(run_name, {"type": "StepLR", "step_size": 5})
    before = {t.ident for t in threading.enumerate()}
    optimizer = make_optimizer("sgd", [0.1])
    scheduler = run.attach(optimizer, progress_every_s=0.05)
    for _ in range(7):
        optimizer.step()
        scheduler.step()
    thread = scheduler._driver.prefetcher._thread
    assert thread.is_alive() and thread.ident not in before
    ref = weakref.ref(scheduler)
    del scheduler
    gc.collect()
    assert ref() is None  # nothing (thread, exit hook, optimizer) kept it alive
    thread.join(timeout=5)
    assert not thread.is_alive()
    deadline = time.monotonic() + 5
    while run.refresh().info.clean_exit is not True and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run.info.clean_exit is True and run.info.progress == 7  # it said goodbye
    run.attach(optimizer).close(0)  # the optimizer is free again


def test_a_sweep_of_dropped_schedulers_leaks_no_thread(server, run_name) -> None:
    """A sweep attaches one scheduler per trial and closes none: each is freed as soon as its
    last reference goes, with the garbage collector off (no reference cycle, as torch's own
    test_no_cyclic_references_in_step asks of torch's schedulers), and its thread ends."""
    client = lrhub.Client(server.url)

    def trial(i: int) -> tuple[weakref.ref[lrhub.LrhubScheduler], threading.Thread]:
        run = client.create_run(f"{run_name}-{i}", {"type": "ExponentialLR", "gamma": 0.9})
        optimizer = make_optimizer("sgd", [0.1])
        scheduler = run.attach(optimizer, progress_every_s=0.05)
        for _ in range(5):
            optimizer.step()
            scheduler.step()
        return weakref.ref(scheduler), scheduler._driver.prefetcher._thread

    trial(0)  # first steps import parts of torch, whose frames may sit in a cycle once
    gc.collect()
    before = threading.active_count()
    gc.disable()
    try:
        trials = [trial(i) for i in range(1, 11)]
        assert [ref() for ref, _ in trials] == [None] * 10  # freed by reference counting
    finally:
        gc.enable()
    for _, thread in trials:
        thread.join(timeout=5)
        assert not thread.is_alive()
    assert threading.active_count() <= before


def test_a_revision_takes_effect_within_the_prefetch_bound(server, run_name) -> None:
    """At ~1 ms per step and ahead_s=0.05, no worker holds more than ~50 steps ahead, so a
    revision made mid-run takes effect within that bound and reaches the optimizer."""
    spec = {"type": "ConstantLR", "factor": 1.0, "total_iters": 1}
    run = lrhub.Client(server.url).create_run(run_name, spec)
    optimizer = make_optimizer("sgd", [0.1])
    scheduler = run.attach(optimizer, ahead_s=0.05)
    for _ in range(300):
        optimizer.step()
        scheduler.step()
        time.sleep(0.001)
    at = scheduler.last_epoch
    revision = run.refresh().revise(
        {"type": "ConstantLR", "factor": 0.5, "total_iters": 10**9}, continuous=False
    )
    bound = 50  # max(32, rate x 0.05 s), and sleeping 1 ms a step keeps rate <= 1000/s
    assert at < revision.effective_step <= at + bound + 1
    lrs = []
    for _ in range(revision.effective_step - at + 5):
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
        time.sleep(0.001)
    first_new = at + 1 + lrs.index(0.1 * 0.5)  # lrs[j] is the value at step at + 1 + j
    assert first_new == revision.effective_step
    assert set(lrs[: first_new - at - 1]) <= {0.1} and set(lrs[first_new - at - 1 :]) == {0.05}
    scheduler.close(0.5)
