"""Which failures mean "the server is not available", and the state of an outage: since
when, the last failure, and how requests are made meanwhile (one quick try, no retries)."""

from __future__ import annotations

import logging
import time
from typing import Any

from lrhub.errors import APIConnectionError, APIStatusError

log = logging.getLogger("lrhub")


def is_outage(exc: BaseException) -> bool:
    """Whether a failure means "the server is not available" (vs. a request error)."""
    if isinstance(exc, APIConnectionError):
        return True
    return isinstance(exc, APIStatusError) and (exc.status_code >= 500 or exc.status_code == 429)


class Outage:
    """Since when the server is unreachable (None while it answers) and the last failure;
    the start and the end of each outage are logged once."""

    def __init__(self, probe_every_s: float, probe_timeout_s: float) -> None:
        self.probe_every_s = probe_every_s
        self.probe_timeout_s = probe_timeout_s
        self.since: float | None = None
        self.last_error: BaseException | None = None

    def failure(self, exc: BaseException) -> None:
        """A request failed (from either thread)."""
        self.last_error = exc
        if is_outage(exc) and self.since is None:
            self.since = time.monotonic()
            log.warning(
                "lrhub: server unreachable, probing every %.1fs: %s", self.probe_every_s, exc
            )

    def success(self) -> None:
        """A request succeeded: the server is there."""
        if self.since is not None:
            log.warning("lrhub: server back after %.1fs of outage", time.monotonic() - self.since)
        self.since = None
        self.last_error = None

    def request_kwargs(self) -> dict[str, Any]:
        """How the background thread asks: one quick try during an outage."""
        if self.since is not None:
            return {"max_retries": 0, "timeout": self.probe_timeout_s}
        return {"max_retries": 2}
