"""Server outages during training: nothing raises (by default), the last value is held,
and the scheduler is back on the run's exact values soon after the server returns."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import pytest
from client_support import make_optimizer, read_values, torch_trace

import lrhub

SPEC = {"type": "CosineAnnealingLR", "T_max": 5000, "eta_min": 0.0}


def test_server_kill_mid_training_raises_nothing(live_server, database_url, run_name) -> None:
    srv = live_server(database_url)
    reference = torch_trace(SPEC, [0.1], 3000)
    run = lrhub.Client(srv.url, max_retries=1).create_run(run_name, SPEC)
    optimizer = make_optimizer("sgd", [0.1])
    records: list[tuple[int, float, float]] = []  # (step, lr, time)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scheduler = run.attach(optimizer, window_size=40, progress_every_s=0.5)
        killed_at = restarted_at = None
        streak = 0
        for _ in range(3000):
            optimizer.step()
            scheduler.step()
            now = time.monotonic()
            records.append((scheduler.last_epoch, read_values(optimizer)[0][0], now))
            if scheduler.last_epoch == 10:
                srv.kill()
                killed_at = now
            if killed_at and restarted_at is None and now - killed_at > 3.0:
                srv.start()
                restarted_at = time.monotonic()
            lr, ref = records[-1][1], reference[scheduler.last_epoch][0][0]
            streak = streak + 1 if restarted_at and abs(lr - ref) <= 1e-9 * ref else 0
            if restarted_at and (now - restarted_at > 6.0 or streak >= 100):
                break
            time.sleep(0.005)
    scheduler.close(1.0)
    assert restarted_at is not None
    outage = [w for w in caught if issubclass(w.category, lrhub.OutageWarning)]
    assert len(outage) == 1, [str(w.message) for w in caught]
    exact = [
        abs(lr - reference[step][0][0]) <= 1e-9 * reference[step][0][0] for step, lr, _ in records
    ]
    held = [i for i, ok in enumerate(exact) if not ok]
    assert held, "the outage outlasted the window, so some steps must have held"
    # held steps keep the last exact value; everything after the last held step is exact
    last_good = records[held[0] - 1][1]
    assert all(records[i][1] == last_good for i in held)
    back_at = records[held[-1] + 1][2]
    assert back_at - restarted_at < 5.0
    assert all(exact[held[-1] + 1 :])


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_on_outage_raise_fails_fast(live_server, database_url, run_name) -> None:
    srv = live_server(database_url)
    run = lrhub.Client(srv.url, max_retries=0).create_run(run_name, SPEC)
    optimizer = make_optimizer("sgd", [0.1])
    scheduler = run.attach(optimizer, window_size=8, on_outage="raise")
    srv.kill()
    try:
        with pytest.raises(lrhub.LrhubError, match="on_outage"):
            for _ in range(100):
                scheduler.step()
                time.sleep(0.01)
        assert scheduler.last_epoch <= 20
    finally:
        scheduler.close(0.5)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_exit_never_hangs_on_a_hung_server(live_server, database_url, run_name) -> None:
    srv = live_server(database_url)
    code = textwrap.dedent(
        f"""
        import sys, torch, lrhub
        run = lrhub.Client({srv.url!r}).create_run({run_name!r}, {SPEC!r})
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        scheduler = run.attach(opt, window_size=16, flush_timeout_s=3.0)
        print("attached", flush=True)
        sys.stdin.readline()
        for _ in range(50):
            scheduler.step()
        print("done", flush=True)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "attached"
        os.killpg(srv.process.pid, signal.SIGSTOP)  # a hung server: every request times out
        began = time.monotonic()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        proc.wait(timeout=15)
        assert time.monotonic() - began < 8.0
        assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_metric_reports_during_an_outage_are_delivered_after_it(
    live_server, database_url, run_name
) -> None:
    spec = {"type": "ReduceLROnPlateau", "factor": 0.5, "patience": 0, "threshold": 0.1}
    metrics = [1.0, 0.5, 0.6, 0.3, 0.31, 0.32, 0.1, 0.2, 0.05, 0.06, 0.07, 0.01] * 2
    srv = live_server(database_url)
    run = lrhub.Client(srv.url, max_retries=1).create_run(run_name, spec)
    optimizer = make_optimizer("sgd", [0.1])
    trace = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scheduler = run.attach(optimizer)
        for i, metric in enumerate(metrics):
            if i == 6:
                srv.kill()
            if i == 12:
                srv.start()
            if i >= 12:
                time.sleep(0.3)  # give the background thread time to deliver the queue
            optimizer.step()
            scheduler.step(metric)
            trace.append(read_values(optimizer)[0][0])
    scheduler.close(1.0)
    assert sum(issubclass(w.category, lrhub.OutageWarning) for w in caught) == 1
    reference = [v[0][0] for v in torch_trace(spec, [0.1], len(metrics), metrics=metrics)[1:]]
    assert trace[:6] == pytest.approx(reference[:6], rel=1e-9)
    assert trace[-6:] == pytest.approx(reference[-6:], rel=1e-9)  # caught up after the outage
    assert [r["step"] for r in run.reports()] == list(range(1, len(metrics) + 1))
