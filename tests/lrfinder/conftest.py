"""Fixtures for the LR finder tests: a real ``lrhub serve`` per test on each backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import lrhub


@pytest.fixture
def hub(database_url: str, live_server: Callable[..., Any]) -> Iterator[lrhub.Client]:
    """A client of a live server on a fresh SQLite / PostgreSQL database."""
    server = live_server(database_url)
    with lrhub.Client(server.url, timeout=20.0) as client:
        yield client
