"""Keep stamina's per-retry notices for lrhub's own requests below a warning.

stamina logs every scheduled retry at WARNING on the ``stamina`` logger, so one outage
printed five lines before the client's own message. The client wraps stamina's retry hooks
once: a retry caused by an lrhub request is logged at DEBUG on ``lrhub.http``; any other
code's retries reach the hooks stamina had before, unchanged. The one line a person sees
per outage comes from the client itself (the raised error, or the training loop's warning).
"""

from __future__ import annotations

import logging
import threading

from stamina.instrumentation import (
    RetryDetails,
    RetryHook,
    get_on_retry_hooks,
    set_on_retry_hooks,
)

from lrhub.errors import LrhubError

log = logging.getLogger("lrhub.http")
_install_lock = threading.Lock()


class LrhubRetriesQuiet:
    """A stamina retry hook: lrhub's retries at DEBUG, everyone else's to ``others``."""

    def __init__(self, others: tuple[RetryHook, ...]) -> None:
        self.others = others

    def __call__(self, details: RetryDetails) -> None:
        if isinstance(details.caused_by, LrhubError):
            log.debug(
                "retry %d in %.2fs after: %s",
                details.retry_num,
                details.wait_for,
                details.caused_by,
            )
            return
        for hook in self.others:
            hook(details)


def install() -> None:
    """Wrap stamina's current retry hooks (once; safe to call from every client)."""
    with _install_lock:
        current = get_on_retry_hooks()
        if any(isinstance(hook, LrhubRetriesQuiet) for hook in current):
            return
        set_on_retry_hooks([LrhubRetriesQuiet(tuple(current))])
