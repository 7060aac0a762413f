"""The Run calls against the real server: advance, revise (picked up by an attached
scheduler), events, resume and starting a named run over."""

from __future__ import annotations

import pytest
from client_support import make_optimizer, read_values

import lrhub

EXP = {"type": "ExponentialLR", "gamma": 0.9, "base_lr": 0.1}


def test_advance_hands_out_each_step_once(server, run_name) -> None:
    client = lrhub.Client(server.url)
    run = client.create_run(run_name, EXP)
    other = client.get_run(run.id)
    first, second = run.advance(), other.advance()
    assert isinstance(first, lrhub.Value) and (first.step, second.step) == (0, 1)
    block = run.advance(count=5)
    assert isinstance(block, lrhub.Window) and (block.start, block.count) == (2, 5)
    assert block.value(4).lrs == pytest.approx(run.lr_at(4).lrs, rel=1e-12)
    assert second.lr == pytest.approx(0.1 * 0.9, rel=1e-12)


def test_revision_reaches_an_attached_scheduler(server, run_name) -> None:
    run = lrhub.Client(server.url).create_run(run_name, EXP)
    optimizer = make_optimizer("sgd", [0.1])
    scheduler = run.attach(optimizer, window_size=8)
    for _ in range(10):
        scheduler.step()
    revision = run.revise(
        {"type": "ConstantLR", "factor": 0.5, "total_iters": 10**6},
        continuous=False,
        clock="restart",
    )
    assert revision.revision == 2 and revision.effective_step > 10
    trace = {}
    for _ in range(30):
        scheduler.step()
        trace[scheduler.last_epoch] = read_values(optimizer)[0][0]
    e = revision.effective_step
    assert trace[e - 1] == pytest.approx(0.1 * 0.9 ** (e - 1), rel=1e-9)  # old schedule before
    assert trace[e] == pytest.approx(0.05, rel=1e-9) and trace[40] == pytest.approx(0.05)
    with pytest.raises(lrhub.PreconditionFailedError, match="refresh"):
        run.revise(EXP, expected_revision=1)
    assert [r.revision for r in run.revisions()] == [1, 2]
    scheduler.close(1.0)
    kinds = [event.kind for event in run.events()]
    assert kinds[0] == "created" and "attached" in kinds and "revised" in kinds


def test_resume_and_restart(server, run_name) -> None:
    client = lrhub.Client(server.url)
    run = client.create_run(run_name, EXP)
    scheduler = run.attach(make_optimizer("sgd", [0.1]))
    for _ in range(5):
        scheduler.step()
    scheduler.close(1.0)
    assert run.refresh().info.progress == 5
    assert run.resume(3).info.progress == 3
    fresh = client.create_run(run_name, EXP, restart=True)
    assert fresh.id == run.id and fresh.info.progress == 0
    assert "restarted" in [event.kind for event in run.events()]
    optimizer = make_optimizer("sgd", [0.1])
    run.attach(optimizer).close(0)  # no ResumeWarning: back at step 0
    assert read_values(optimizer)[0] == [pytest.approx(0.1)]


def test_a_nan_loss_reaches_the_server_from_the_training_loop(server, run_name) -> None:
    spec = {"type": "DivergenceGuard", "schedule": EXP, "lr_factor": 0.5}
    run = lrhub.Client(server.url).create_run(run_name, spec, report_interval=1)
    scheduler = run.attach(make_optimizer("sgd", [0.1]))
    scheduler.step(float("nan"))  # JSON has no NaN: must not raise in the loop
    scheduler.step(float("inf"))
    losses = [item["metrics"]["loss"] for item in run.reports()]
    assert losses == ["NaN", "Infinity"]
    assert "divergence" in [event.kind for event in run.events()]
    scheduler.close(0.5)
