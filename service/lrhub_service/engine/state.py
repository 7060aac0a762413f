"""Metric-driven state: an immutable record, folded over reports by the schedule."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


def freeze(value: Any) -> Any:
    """A read-only copy of plain JSON: dicts become mapping proxies, lists tuples."""
    if isinstance(value, MappingProxyType):
        return value  # only freeze() and frozen_record() make these: frozen all the way down
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def frozen_record(fields: dict[str, Any]) -> Mapping[str, Any]:
    """A node record from fields that are already frozen, without walking them again.

    Every value must be a scalar, a tuple of frozen values or a frozen mapping (built
    from an earlier record's tuples, e.g. ``steps + (step,)``), so a fold costs O(fields)
    instead of O(record size). Give anything else to :func:`freeze` instead.
    """
    return MappingProxyType(fields)


def thaw(value: Any) -> Any:
    """Plain JSON again (dicts and lists) from a frozen value."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


_set = object.__setattr__  # how a frozen dataclass sets its own fields


@dataclass(frozen=True)
class Report:
    """The metrics passed with the ``step(metric)`` call that moves to ``step`` (>= 1)."""

    step: int
    metrics: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class MetricState:
    """What the reports so far decided: one plain-JSON record per metric-driven node.

    Node records are frozen (read-only mappings and tuples; every fold builds new
    ones, sharing the unchanged parts), so a state can be kept, shared, compared and
    rewound freely.
    """

    nodes: Mapping[str, Any] = field(default_factory=dict)
    stopped: bool = False
    diverged: bool = False
    reports: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.nodes, MappingProxyType):
            object.__setattr__(self, "nodes", freeze(self.nodes))

    @classmethod
    def _trusted(
        cls, nodes: Mapping[str, Any], stopped: bool, diverged: bool, reports: int
    ) -> MetricState:
        """A state from a mapping of already frozen records (no copy, no walk)."""
        state = object.__new__(cls)
        _set(state, "nodes", nodes)
        _set(state, "stopped", stopped)
        _set(state, "diverged", diverged)
        _set(state, "reports", reports)
        return state

    def node(self, key: str) -> Any:
        """The record of node ``key``, or None before its first report."""
        return self.nodes.get(key)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (for storage and caches); ``from_json`` reverses it."""
        return {
            "nodes": thaw(self.nodes),
            "stopped": self.stopped,
            "diverged": self.diverged,
            "reports": self.reports,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MetricState:
        """Rebuild a state written by ``to_json`` (also accepts a JSON string's parse)."""
        nodes = json.loads(json.dumps(dict(data.get("nodes", {}))))  # a deep, checked copy
        return cls(
            nodes=nodes,
            stopped=bool(data.get("stopped", False)),
            diverged=bool(data.get("diverged", False)),
            reports=int(data.get("reports", 0)),
        )
