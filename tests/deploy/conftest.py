"""Deployment-test fixtures: `start_lrhub` from tests/e2e/e2e_support.py (real servers)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from e2e_support import start_lrhub

__all__ = ["start_lrhub"]
