"""A window fetch in flight while a checkpoint is loaded: it must neither record the old
progress (which would undo the resume) nor delay the values after the resume."""

from __future__ import annotations

import threading
import time
import warnings
from typing import Any

import httpx
from client_support import assert_same_trace, make_optimizer, read_values, torch_trace

import lrhub


class SlowWindows(httpx.BaseTransport):
    """The real server; once ``slow`` is set, window reads wait before they go out, so
    they reach the server after a resume sent meanwhile."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.slow = threading.Event()
        self.delayed = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.slow.is_set() and request.url.path.endswith("/window"):
            self.delayed += 1
            time.sleep(0.3)
        return self.inner.handle_request(request)


def test_a_fetch_in_flight_across_a_resume_is_dropped(server: Any, run_name: str) -> None:
    spec = {"type": "CosineAnnealingLR", "T_max": 60}
    transport = SlowWindows()
    run = lrhub.Client(server.url, transport=transport).create_run(run_name, spec)
    optimizer = make_optimizer("sgd", [0.1])
    scheduler = run.attach(optimizer, window_size=8, max_ahead_steps=8)
    for _ in range(25):
        optimizer.step()
        scheduler.step()
    state = scheduler.state_dict()
    transport.slow.set()
    for _ in range(10):  # each window now takes 0.3 s: one is in flight at the end
        optimizer.step()
        scheduler.step()
    scheduler.load_state_dict(state)
    transport.slow.clear()
    time.sleep(0.5)  # the fetch in flight lands after the resume
    assert transport.delayed >= 1 and run.refresh().info.progress == 25
    trace = [read_values(optimizer)]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for _ in range(15):
            optimizer.step()
            scheduler.step()
            trace.append(read_values(optimizer))
    assert not [w for w in seen if issubclass(w.category, lrhub.OutageWarning)]
    assert_same_trace(trace, torch_trace(spec, [0.1], 40), offset=25)
    scheduler.close(1.0)
