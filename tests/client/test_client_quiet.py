"""Retries stay below a warning: an outage costs a person one line, not one per retry."""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import sys
import textwrap
import time

import stamina
from client_support import make_optimizer

import lrhub
from lrhub._quiet_retries import LrhubRetriesQuiet

DEAD_URL_SCRIPT = """
import lrhub
client = lrhub.Client("{url}", max_retries=4, backoff_initial=0.01, backoff_max=0.02)
try:
    client.get_run(1)
except lrhub.APIConnectionError as exc:
    print(exc)
"""


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens once the probe socket is closed


def test_a_server_that_is_not_there_gives_one_line_and_no_retry_notices() -> None:
    url = _dead_url()
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(DEAD_URL_SCRIPT.format(url=url))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # stamina's five "stamina.retry_scheduled" lines are gone
    assert done.stdout.splitlines() == [
        f"GET /v1/runs/1: cannot reach the lrhub server at {url} (ConnectError: "
        "[Errno 111] Connection refused). Start it (`lrhub serve`) or fix "
        "LRHUB_URL / lrhub.Client(url=...)."
    ]


def test_each_retry_is_still_there_at_debug_level(caplog) -> None:
    url = _dead_url()
    client = lrhub.Client(url, max_retries=3, backoff_initial=0.01, backoff_max=0.02)
    with caplog.at_level(logging.DEBUG), contextlib.suppress(lrhub.APIConnectionError):
        client.get_run(1)
    ours = [r for r in caplog.records if r.name == "lrhub.http"]
    assert [r.levelno for r in ours] == [logging.DEBUG] * 3
    assert ours[0].getMessage().startswith("retry 1 in ")
    assert not [r for r in caplog.records if r.name == "stamina"]


def test_other_code_keeps_stamina_warnings(caplog) -> None:
    lrhub.Client(_dead_url())  # installs the quiet hook
    assert any(
        isinstance(h, LrhubRetriesQuiet) for h in stamina.instrumentation.get_on_retry_hooks()
    )
    calls = []

    @stamina.retry(on=ValueError, attempts=2, wait_initial=0.001, wait_max=0.001, wait_jitter=0)
    def flaky() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("once")

    with caplog.at_level(logging.INFO):
        flaky()
    notices = [r for r in caplog.records if r.name == "stamina"]
    assert [r.getMessage() for r in notices] == ["stamina.retry_scheduled"]
    assert notices[0].levelno == logging.WARNING


def test_a_training_outage_warns_once(live_server, tmp_path, caplog) -> None:
    srv = live_server(f"sqlite:///{tmp_path / 'quiet.db'}")
    spec = {"type": "CosineAnnealingLR", "T_max": 1000}
    run = lrhub.Client(srv.url, max_retries=2, backoff_initial=0.01).create_run("quiet", spec)
    optimizer = make_optimizer("sgd", [0.1])
    with caplog.at_level(logging.INFO):
        scheduler = run.attach(optimizer, window_size=20, progress_every_s=0.2)
        srv.kill()
        for _ in range(60):  # past the window: the prefetcher keeps failing for a while
            optimizer.step()
            scheduler.step()
            time.sleep(0.02)
        scheduler.close(0.5)
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    outage = [r for r in loud if "server unreachable" in r.getMessage()]
    assert len(outage) == 1, [r.getMessage() for r in loud]
    assert not [r for r in loud if r.name == "stamina"]
