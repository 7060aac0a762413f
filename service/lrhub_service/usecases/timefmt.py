"""Timestamps as ISO 8601 UTC strings (SQLite hands back naive datetimes)."""

from __future__ import annotations

from datetime import datetime, timezone


def iso(value: datetime | None) -> str | None:
    """``2026-11-29T11:30:00.123456Z`` for a stored timestamp."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
