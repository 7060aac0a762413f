"""Helpers for the client tests: torch reference traces, worker processes, fault injection.

The server is always the real one (``live_server`` from tests/conftest.py); faults are
injected at the transport level, in front of it.
"""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import torch

WORKER = Path(__file__).with_name("trainer_proc.py")
REL = 1e-9


def make_optimizer(kind: str, groups: list[float]) -> torch.optim.Optimizer:
    """The same optimizers trainer_proc.py builds: sgd, sgd0 (no momentum), adam."""
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in groups]
    if kind == "adam":
        return torch.optim.Adam(params, lr=groups[0])
    return torch.optim.SGD(params, lr=groups[0], momentum=0.0 if kind == "sgd0" else 0.9)


def read_values(optimizer: torch.optim.Optimizer) -> list[Any]:
    groups = optimizer.param_groups
    lrs = [float(g["lr"]) for g in groups]
    if "betas" in groups[0]:
        return [lrs, [float(g["betas"][0]) for g in groups]]
    return [lrs, [float(g.get("momentum", 0.0)) for g in groups]]


def torch_trace(
    spec: dict[str, Any],
    groups: list[float],
    steps: int,
    *,
    optimizer: str = "sgd",
    metrics: list[float] | None = None,
) -> list[Any]:
    """Values after construction and after each of ``steps`` steps of torch's scheduler."""
    opt = make_optimizer(optimizer, groups)
    kwargs = {k: v for k, v in spec.items() if k != "type"}
    scheduler = getattr(torch.optim.lr_scheduler, spec["type"])(opt, **kwargs)
    trace = [read_values(opt)]
    for i in range(steps):
        opt.step()
        if metrics is not None:
            scheduler.step(metrics[i])
        else:
            scheduler.step()
        trace.append(read_values(opt))
    return trace


def assert_same_trace(ours: list[Any], reference: list[Any], offset: int = 0) -> None:
    """``ours[i]`` equals ``reference[offset + i]`` to 1e-9 relative, lrs and momentums."""
    for i, (lrs, moms) in enumerate(ours):
        ref_lrs, ref_moms = reference[offset + i]
        assert lrs == pytest.approx(ref_lrs, rel=REL), f"lr differs at step {offset + i}"
        assert moms == pytest.approx(ref_moms, rel=REL), f"momentum differs at step {offset + i}"


def run_workers(jobs: list[dict[str, Any]], timeout: float = 60.0) -> list[dict[str, Any]]:
    """Run trainer_proc.py once per job, all at the same time; their parsed outputs."""
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), json.dumps(job)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for job in jobs
    ]
    results = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for other in procs:
                other.kill()
            raise
        assert proc.returncode == 0, f"worker failed ({proc.returncode}):\n{err[-3000:]}"
        results.append({**json.loads(out.strip().splitlines()[-1]), "stderr": err})
    return results


_FORK_CONTEXT: Any = None


def fork_workers(jobs: list[dict[str, Any]], timeout: float = 60.0) -> list[dict[str, Any]]:
    """Run trainer_proc.main once per job, each in its own process, all at the same time.
    The processes fork from a server process that imported torch once (fast starts);
    like any multiprocessing child they skip atexit, so jobs get "close": True."""
    global _FORK_CONTEXT
    if _FORK_CONTEXT is None:
        _FORK_CONTEXT = multiprocessing.get_context("forkserver")
        _FORK_CONTEXT.set_forkserver_preload(["torch", "lrhub", "lrhub.scheduler", "trainer_proc"])
    import trainer_proc

    ctx = _FORK_CONTEXT
    started = []
    for job in jobs:
        receiver, sender = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=trainer_proc.send_result, args=({**job, "close": True}, sender))
        proc.start()
        sender.close()
        started.append((proc, receiver))
    results = []
    deadline = time.monotonic() + timeout
    try:
        for proc, receiver in started:
            if not receiver.poll(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"worker {proc.pid} gave no result in {timeout} s")
            results.append(receiver.recv())
            proc.join(timeout=max(1.0, deadline - time.monotonic()))
            assert proc.exitcode == 0, f"worker {proc.pid} exited with {proc.exitcode}"
    finally:
        for proc, _ in started:
            if proc.is_alive():
                proc.kill()
    return results


class FaultTransport(httpx.BaseTransport):
    """Sends requests to the real server, except that the next queued faults replace
    them: an int status (answered without reaching the server), ``("status", retry_after)``,
    ``"timeout"`` (a read timeout) or ``"refused"`` (a connection error)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.faults: list[Any] = []
        self.seen: list[httpx.Request] = []
        self.lock = threading.Lock()

    def inject(self, *faults: Any) -> None:
        with self.lock:
            self.faults.extend(faults)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.seen.append(request)
            fault = self.faults.pop(0) if self.faults else None
        if fault is None:
            return self.inner.handle_request(request)
        if fault == "timeout":
            raise httpx.ReadTimeout("injected read timeout", request=request)
        if fault == "refused":
            raise httpx.ConnectError("injected connection refused", request=request)
        status, retry_after = fault if isinstance(fault, tuple) else (fault, None)
        headers = {"Content-Type": "application/problem+json"}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        body = {"title": "injected", "status": status, "detail": f"injected {status}"}
        return httpx.Response(status, headers=headers, json=body, request=request)

    def close(self) -> None:
        self.inner.close()
