"""Deployment-test fixtures: the end-to-end helpers of tests/e2e (real `lrhub` processes)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from e2e_support import start_lrhub

__all__ = ["start_lrhub"]
