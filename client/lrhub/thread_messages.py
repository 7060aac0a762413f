"""What the prefetch thread answers the training thread (``Fetched``, ``Reported``), and
the command that ends the thread (``STOP``)."""

from __future__ import annotations

from dataclasses import dataclass

from lrhub.cursor import Block
from lrhub.types import ReportResult


@dataclass(frozen=True)
class Fetched:
    """The answer to a fetch: a block of promised values, or the error that stopped it."""

    generation: int
    start: int
    block: Block | None
    error: BaseException | None = None


@dataclass(frozen=True)
class Reported:
    """A queued report delivered (``result`` None when the server rejected it)."""

    generation: int
    step: int
    result: ReportResult | None
    block: Block | None


STOP = object()
