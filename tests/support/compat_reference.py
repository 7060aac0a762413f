"""The compat grid's stored reference values (tests/compat/reference.json) and the check
that a run's values equal them."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

REFERENCE = Path(__file__).resolve().parent.parent / "compat" / "reference.json"
TOLERANCE = 1e-12  # relative to the largest base lr of the case


@cache
def reference() -> dict[str, Any]:
    """The stored data: ``{"versions": ..., "cases": [{id, spec, base_lrs, steps, metrics?,
    lrs (per group, per step)}]}``."""
    return json.loads(REFERENCE.read_text())


def reference_cases() -> list[dict[str, Any]]:
    return list(reference()["cases"])


def assert_matches(case: dict[str, Any], got: list[list[float]], want: list[list[float]]) -> None:
    """``got`` equals ``want`` (both per group, per step) to 1e-12 of the case's lr."""
    got_array, want_array = np.asarray(got), np.asarray(want)
    assert got_array.shape == want_array.shape, (case["id"], got_array.shape, want_array.shape)
    error = np.abs(got_array - want_array) / max(case["base_lrs"])
    worst = np.unravel_index(int(np.argmax(error)), error.shape)
    assert error.max() <= TOLERANCE, (
        f"{case['id']} {case['spec']}: group {worst[0]} step {worst[1]}:"
        f" lrhub {got_array[worst]!r}, library {want_array[worst]!r}"
    )
