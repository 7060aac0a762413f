"""Record every live prefetcher's final progress at interpreter exit, within a deadline."""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from typing import Any

log = logging.getLogger("lrhub")

TOTAL_DEADLINE_S = 5.0

_live: weakref.WeakSet[Any] = weakref.WeakSet()
_exit_hook_lock = threading.Lock()
_exit_hook_installed = False


def register_exit_flush(prefetcher: Any) -> None:
    """Have ``prefetcher.close(timeout)`` called at exit (atexit hook installed once)."""
    global _exit_hook_installed
    _live.add(prefetcher)
    with _exit_hook_lock:
        if not _exit_hook_installed:
            atexit.register(_flush_all)
            _exit_hook_installed = True


def _flush_all() -> None:
    """At interpreter exit: record every live prefetcher's progress within its deadline."""
    deadline = time.monotonic() + TOTAL_DEADLINE_S
    for prefetcher in list(_live):
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            prefetcher.close(min(prefetcher.flush_timeout_s, left))
        except Exception as exc:  # exit must never fail
            log.warning("lrhub: final flush failed: %s", exc)
