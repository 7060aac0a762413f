"""Helpers shared by the engine tests."""

from __future__ import annotations

from typing import Any


def as_lists(window: tuple[Any, Any]) -> tuple[list[list[float]], list[list[float]] | None]:
    """A window's ``(lrs, momentums)`` arrays as nested lists of Python floats."""
    lrs, moms = window
    return lrs.tolist(), None if moms is None else moms.tolist()
