"""lrhub: one resumable learning-rate schedule for every worker of a training job.

``import lrhub`` needs only httpx; torch is imported when a run is attached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lrhub.client import Client
from lrhub.convert import ConvertedSpec, spec_from
from lrhub.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    LrhubError,
    NotFoundError,
    OutageWarning,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitError,
    RequestTooLargeError,
    ResumeWarning,
    SchedulerUsageError,
)
from lrhub.extras import load_extra
from lrhub.identity import WorkerIdentity, detect_identity
from lrhub.lr_finder import LRFinderResult, find_lr
from lrhub.optim import MomentumNotSupportedError
from lrhub.run import Run
from lrhub.types import Event, ReportResult, Revision, RunInfo, Value, Window

if TYPE_CHECKING:
    from lrhub.scheduler import LrhubScheduler

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConflictError",
    "ConvertedSpec",
    "Event",
    "InternalServerError",
    "LRFinderResult",
    "LrhubError",
    "LrhubScheduler",
    "MomentumNotSupportedError",
    "NotFoundError",
    "OutageWarning",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimitError",
    "ReportResult",
    "RequestTooLargeError",
    "ResumeWarning",
    "Revision",
    "Run",
    "RunInfo",
    "SchedulerUsageError",
    "Value",
    "Window",
    "WorkerIdentity",
    "detect_identity",
    "find_lr",
    "spec_from",
]


def __getattr__(name: str) -> Any:
    if name == "LrhubScheduler":  # imports torch, so only on demand
        return load_extra("lrhub.scheduler", "torch").LrhubScheduler
    raise AttributeError(f"module 'lrhub' has no attribute {name!r}")
