"""The exit hook waits for a dropped scheduler's final progress, however slow the server."""

from __future__ import annotations

import gc
import time

import httpx
from client_support import make_optimizer

import lrhub
from lrhub import exit_flush


class SlowProgress(httpx.BaseTransport):
    """The real server, with every progress report answered ``delay_s`` late."""

    def __init__(self, delay_s: float) -> None:
        self.inner = httpx.HTTPTransport()
        self.delay_s = delay_s

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/progress"):
            time.sleep(self.delay_s)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_exit_hook_waits_for_the_final_report_of_a_dropped_scheduler(server, run_name) -> None:
    spec = {"type": "CosineAnnealingLR", "T_max": 100}
    client = lrhub.Client(server.url, transport=SlowProgress(0.4))
    run = client.create_run(run_name, spec)
    optimizer = make_optimizer("sgd", [0.1])
    scheduler = run.attach(optimizer, progress_every_s=60)
    for _ in range(7):
        optimizer.step()
        scheduler.step()
    del scheduler
    gc.collect()  # its finalizer asks the thread to send the final report: that takes 0.4 s
    exit_flush._flush_all()  # what atexit runs: it must wait for that report
    info = lrhub.Client(server.url).get_run(run.info.id).info
    assert info.progress == 7
    assert info.clean_exit is True


def test_close_after_stop_sends_nothing(server, run_name) -> None:
    run = lrhub.Client(server.url).create_run(run_name, {"type": "StepLR", "step_size": 5})
    optimizer = make_optimizer("sgd", [0.1])
    scheduler = run.attach(optimizer, progress_every_s=60)
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    scheduler._driver.prefetcher.stop()  # as if the process died
    scheduler.close(1.0)
    info = run.refresh().info
    assert info.progress == 0 and info.clean_exit is not True
