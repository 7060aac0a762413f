"""Idempotency-Key: what a request's key is, and the pruning of old answers.

The unit of work (``unit_of_work``) looks a write's key up inside the write's transaction
(after the row lock, so a concurrent duplicate waits for the first one) and stores
``(scope, key) -> (status, body)`` in the same transaction; advance batches store theirs in
their one statement. A retry after a lost response therefore gets the first answer instead
of acting twice; the same key with a different request is refused with 422. Keys are kept
``idempotency_ttl_s`` (24 h by default) and pruned now and then by the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson

from lrhub_service.db import statements
from lrhub_service.db.models import utcnow
from lrhub_service.usecases.errors import Invalid

log = logging.getLogger("lrhub.idempotency")

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,200}$")  # visible ASCII, as the draft RFC allows
PRUNE_EVERY_S = 300.0


@dataclass(frozen=True)
class IdemKey:
    """One request's key: the route and run it belongs to, the key, and the request's hash."""

    scope: str
    key: str
    fingerprint: str


def parse_key(raw: str | None) -> str | None:
    """The header's key, or None when absent; 422 naming the header when malformed."""
    if raw is None:
        return None
    if not KEY_PATTERN.match(raw):
        raise Invalid(
            f"{HEADER} must be 1 to 200 visible ASCII characters (e.g. a UUID)", loc=HEADER
        )
    return raw


def fingerprint(body: bytes, *extras: str) -> str:
    """A hash of the request: its JSON body (key order and spacing ignored) and extras."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else b""
    except orjson.JSONDecodeError:
        canonical = body
    digest = hashlib.sha256(canonical)
    for extra in extras:
        digest.update(b"\0" + extra.encode())
    return digest.hexdigest()


def mismatch(idem: IdemKey) -> Invalid:
    return Invalid(
        f"{HEADER} {idem.key!r} was already used for a different request to this route; "
        "send a new key for a new request (retries must repeat the request unchanged)",
        loc=HEADER,
    )


class Pruner:
    """Deletes keys older than the TTL, at most once per ``every_s`` per process.

    A prune asked for while one runs is not lost: the running one goes round again, so the
    keys stored before the ask are pruned by the task the ask sees.
    """

    def __init__(self, db: Any, ttl_s: float, every_s: float = PRUNE_EVERY_S) -> None:
        self.db = db
        self.ttl_s = ttl_s
        self.every_s = every_s
        self._last = -math.inf
        self._again = False
        self._task: asyncio.Task[int] | None = None

    def maybe_prune(self) -> None:
        """Start a background prune when the last one is old enough (never blocks)."""
        now = time.monotonic()
        if now - self._last < self.every_s:
            return
        self._last = now
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._guarded())

    async def _guarded(self) -> int:
        pruned = 0
        while True:
            self._again = False
            try:
                pruned += await self.prune()
            except Exception as exc:  # pruning is housekeeping: never fail a request for it
                log.warning("pruning idempotency keys failed: %s", exc)
            if not self._again:
                return pruned

    async def prune(self) -> int:
        """Delete expired keys now; returns how many went."""
        cutoff = utcnow() - timedelta(seconds=self.ttl_s)
        async with statements.autocommitted(self.db) as bound:
            return await bound.keys.prune(cutoff)

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
