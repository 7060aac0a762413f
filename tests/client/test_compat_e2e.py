"""The compat grid end to end: each transformers name and timm class as a stored run on a
real server, attached to a torch optimizer through the client, stepped through its windows;
the optimizer's lrs equal the libraries' (the reference data, and the live libraries when
installed). The grid runs in batches, one run per case."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from support.compat_live import libraries_installed, library_values, optimizer
from support.compat_reference import assert_matches, reference_cases

import lrhub

CASES = reference_cases()
BATCHES = 6
LIVE = libraries_installed()


def run_case(url: str, case: dict[str, Any]) -> list[list[float]]:
    """The lrs a torch optimizer gets from lrhub for the case (per group, per step)."""
    run = lrhub.Client(url).create_run(f"compat-{case['id']}-{uuid.uuid4().hex[:8]}", case["spec"])
    opt = optimizer(case["base_lrs"])
    scheduler = run.attach(opt, window_size=64)
    metrics = case.get("metrics")
    rows = [[float(g["lr"]) for g in opt.param_groups]]
    for step in range(1, case["steps"]):
        opt.step()
        if metrics is not None and metrics[step] is not None:
            scheduler.step(metrics[step])
        else:
            scheduler.step()
        rows.append([float(g["lr"]) for g in opt.param_groups])
    scheduler.close(1.0)
    return [list(column) for column in zip(*rows, strict=True)]


@pytest.mark.parametrize("batch", range(BATCHES))
def test_compat_grid_through_the_server_equals_the_libraries(server, batch: int) -> None:
    started = time.monotonic()
    for case in CASES[batch::BATCHES]:
        got = run_case(server.url, case)
        assert_matches(case, got, case["lrs"])
        if LIVE:
            rows = library_values(case)
            assert_matches(case, got, [[row[g] for row in rows] for g in range(len(rows[0]))])
    assert time.monotonic() - started < 60  # the whole grid stays well within 2 minutes
