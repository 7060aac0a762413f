"""Reading a library's keyword arguments with checks that name the argument."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


class KwargError(ValueError):
    """A keyword argument the library form cannot take: ``.name`` and the reason."""

    def __init__(self, name: str, msg: str) -> None:
        self.name = name
        super().__init__(msg)


class Kwargs:
    """Takes named arguments one by one; :meth:`done` refuses any left over."""

    def __init__(self, given: Mapping[str, Any], owner: str) -> None:
        self._left = dict(given)
        self._owner = owner

    def number(
        self, name: str, default: float | None, *, low: float | None = None, strict: bool = False
    ) -> float | None:
        """A finite real number (``low``: its lower bound, excluded when ``strict``)."""
        value = self._left.pop(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise KwargError(name, "must be a number")
        if not math.isfinite(value):
            raise KwargError(name, "must be a finite number (not NaN or infinity)")
        if low is not None and (value <= low if strict else value < low):
            raise KwargError(name, f"must be {'>' if strict else '>='} {low}")
        return float(value)

    def integer(self, name: str, default: int | None, *, low: int = 0) -> int | None:
        """A whole number >= ``low`` (a float with no fraction is taken)."""
        value = self._left.pop(name, default)
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise KwargError(name, "must be an integer")
        if value < low:
            raise KwargError(name, f"must be >= {low}")
        return value

    def choice(self, name: str, default: str, options: tuple[str, ...]) -> str:
        value = self._left.pop(name, default)
        if value not in options:
            raise KwargError(name, f"must be one of {', '.join(map(repr, options))}")
        return str(value)

    def flag(self, name: str, default: bool) -> bool:
        value = self._left.pop(name, default)
        if not isinstance(value, bool):
            raise KwargError(name, "must be true or false")
        return value

    def take(self, names: tuple[str, ...]) -> dict[str, Any]:
        """The given ones of ``names``, as they are (a spec model checks them)."""
        return {name: self._left.pop(name) for name in names if name in self._left}

    def done(self) -> None:
        for name in self._left:
            raise KwargError(name, f"unknown argument; {self._owner} does not take it")


def nested_problems(spec: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """The cross-field problems of an expanded spec and its children (paths dropped: they
    point into the expansion, not into what the user wrote)."""
    found = [((), msg) for _, msg in spec.problems()]
    for _, child in spec.children():
        found.extend(nested_problems(child))
    return found
