"""Helpers for the fault tests (imported by name: tests/faults is on sys.path)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

SECRET = "faults-write-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {SECRET}"}
TOKENS_ENV = {"LRHUB_TOKENS": f"ci:write:{SECRET}"}
COSINE = {"type": "CosineAnnealingLR", "T_max": 1000, "eta_min": 0.001}


def v1_calls(run_id: int) -> list[tuple[str, str, dict[str, Any] | None]]:
    """One call to each kind of /v1 route: (method, path, JSON body)."""
    base = f"/v1/runs/{run_id}"
    return [
        ("GET", "/v1/runs", None),
        ("GET", base, None),
        ("GET", f"{base}/lr?step=7", None),
        ("GET", f"{base}/window?start=0&count=64", None),
        ("GET", f"{base}/events", None),
        ("GET", f"{base}/reports", None),
        ("GET", f"{base}/revisions", None),
        ("POST", f"{base}/advance", {"count": 1}),
        ("POST", f"{base}/progress", {"step": 3}),
        ("POST", f"{base}/reports", {"step": 2, "metrics": {"loss": 1.0}}),
        ("POST", f"{base}/attach", {"base_lrs": [0.1]}),
        ("POST", "/v1/runs", {"name": "outage-new", "schedule": COSINE}),
        ("POST", "/v1/preview", {"schedule": COSINE, "steps": 10, "base_lrs": [0.1]}),
        ("GET", "/v1/limits", None),
    ]


def problem_of(response: httpx.Response) -> dict[str, Any]:
    """The problem+json body of an error answer (asserting its media type)."""
    assert response.headers["content-type"].startswith("application/problem+json"), (
        response.status_code,
        response.text[:300],
    )
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code and body["detail"], body
    return body


@dataclass
class Hammer:
    """Threads that call ``calls`` round-robin until stopped, keeping every outcome."""

    url: str
    calls: list[tuple[str, str, dict[str, Any] | None]]
    headers: dict[str, str] = field(default_factory=dict)
    answers: list[httpx.Response] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self, threads: int) -> Hammer:
        for index in range(threads):
            thread = threading.Thread(target=self._loop, args=(index,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _loop(self, index: int) -> None:
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=15.0) as client:
            turn = index
            while not self._stop.is_set():
                method, path, body = self.calls[turn % len(self.calls)]
                turn += 1
                try:
                    self.answers.append(client.request(method, path, json=body))
                except httpx.HTTPError as exc:  # a connection dropped without an answer
                    self.failures.append(f"{method} {path}: {type(exc).__name__}: {exc}")


def poll_until(check: Callable[[], bool], timeout_s: float, every_s: float = 0.05) -> float:
    """Seconds until ``check()`` first holds; raises AssertionError after ``timeout_s``."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"not within {timeout_s} s")
        time.sleep(every_s)
    return time.monotonic() - start


def metric_value(text: str, name: str, labels: str = "") -> float:
    """One sample of the Prometheus exposition ``text`` (0 when absent)."""
    pattern = re.escape(name + (f"{{{labels}}}" if labels else "")) + r" ([0-9.e+-]+)"
    found = re.search(r"^" + pattern + r"$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0
