"""The run store: the one owner of every statement on run rows, for both dialects.

``RunRows`` runs the SQLAlchemy statements of a unit of work's transaction (and of reads);
``FastRuns`` runs the per-request statements (a run's freshness, the shared counter with
its batched idempotency keys, a window's promise) on the raw drivers, where SQLAlchemy's
per-statement overhead would halve the advance rate (see docs/architecture.md).
"""

from lrhub_service.db.listener import Freshness
from lrhub_service.db.run_store.counter import (
    BlockCheck,
    Claim,
    Outcome,
    Refused,
    Stored,
    Taken,
)
from lrhub_service.db.run_store.fast import FastRuns
from lrhub_service.db.run_store.rows import RUN_COLUMNS, DuplicateRun, RunRows

__all__ = [
    "RUN_COLUMNS",
    "BlockCheck",
    "Claim",
    "DuplicateRun",
    "FastRuns",
    "Freshness",
    "Outcome",
    "Refused",
    "RunRows",
    "Stored",
    "Taken",
]
