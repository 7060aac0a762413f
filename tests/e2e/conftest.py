"""End-to-end fixtures: `start_lrhub` (e2e_support.py) beside tests/conftest.py's fixtures."""

from e2e_support import start_lrhub

__all__ = ["start_lrhub"]
