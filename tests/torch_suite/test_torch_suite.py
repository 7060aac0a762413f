"""PyTorch's own scheduler test suite (torch 2.13's test/optim/test_lrscheduler.py), run with
lrhub's scheduler in place of torch's classes, against a real ``lrhub serve``.

The file is BSD-licensed PyTorch code, not lrhub's: it is not kept in this repository.
``python tests/torch_suite/fetch_upstream.py`` puts it in tests/torch_suite/upstream/
(ignored by git), or ``LRHUB_TORCH_SUITE`` names a copy. Without it these tests skip, or fail
when ``LRHUB_REQUIRE_TORCH_SUITE=1`` (CI). conftest.py swaps the classes in and marks each
expected difference (expected_differences.py; docs/client.md lists them).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import unittest
from pathlib import Path

import pytest

UPSTREAM = Path(
    os.environ.get("LRHUB_TORCH_SUITE")
    or Path(__file__).with_name("upstream") / "test_lrscheduler.py"
)

if not UPSTREAM.is_file():
    message = (
        f"torch's scheduler suite is not at {UPSTREAM}: "
        "run python tests/torch_suite/fetch_upstream.py"
    )
    if os.environ.get("LRHUB_REQUIRE_TORCH_SUITE") == "1":
        raise RuntimeError(message)
    pytest.skip(message, allow_module_level=True)

pytest.importorskip("expecttest", reason="torch.testing's TestCase needs expecttest")

from expected_differences import EXPECTED, NOT_LRHUB  # noqa: E402
from substitutes import in_place_of_torch  # noqa: E402 (only once the suite is there)

_spec = importlib.util.spec_from_file_location("torch_upstream_test_lrscheduler", UPSTREAM)
assert _spec is not None and _spec.loader is not None
upstream = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = upstream
with in_place_of_torch():  # its imports and parametrized partials bind lrhub's stand-ins
    _spec.loader.exec_module(upstream)

TestLRScheduler = upstream.TestLRScheduler  # collected here, run with lrhub's stand-ins


def test_every_listed_difference_names_a_test_of_the_suite() -> None:
    """A renamed or removed upstream test must leave expected_differences.py too."""
    names = set(unittest.TestLoader().getTestCaseNames(TestLRScheduler))
    assert not (set(EXPECTED) | set(NOT_LRHUB)) - names
    assert not set(EXPECTED) & set(NOT_LRHUB)
