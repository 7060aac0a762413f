"""Idempotency-Key: a write's first answer is stored with the write and replayed on retries.

A write sent with ``Idempotency-Key: <key>`` looks the key up inside its own transaction
(after taking the run's row lock, so a concurrent duplicate waits for the first one) and
stores ``(scope, key) -> (status, body)`` in the same transaction before it commits. A retry
after a lost response therefore gets the first answer instead of acting twice; the same key
with a different request is refused with 422. Keys are kept ``idempotency_ttl_s`` (24 h by
default) and pruned now and then by the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from lrhub_service.db.models import IdempotencyKey, utcnow
from lrhub_service.usecases.errors import Invalid, Unavailable

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


class Replay(Exception):
    """Raised inside a write's transaction when its key already has an answer."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


class KeyTaken(Exception):
    """The key was stored by a concurrent request while this one was acting."""


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


def check(idem: IdemKey, stored_fingerprint: str, status: int, body: str) -> Replay:
    """The replay of a stored answer, or 422 when the stored request differs."""
    if stored_fingerprint != idem.fingerprint:
        raise mismatch(idem)
    return Replay(status, body)


async def lookup(conn: AsyncConnection, idem: IdemKey | None) -> None:
    """Raise ``Replay`` when ``idem`` already has an answer (call after the row lock)."""
    if idem is None:
        return
    row = (
        await conn.execute(
            select(IdempotencyKey.fingerprint, IdempotencyKey.status, IdempotencyKey.body).where(
                IdempotencyKey.scope == idem.scope, IdempotencyKey.idem_key == idem.key
            )
        )
    ).first()
    if row is not None:
        raise check(idem, row.fingerprint, row.status, row.body)


async def remember(conn: AsyncConnection, idem: IdemKey | None, status: int, body: Any) -> None:
    """Store the answer in the write's transaction (``KeyTaken`` if a duplicate won)."""
    if idem is None:
        return
    try:
        await conn.execute(
            insert(IdempotencyKey).values(
                scope=idem.scope,
                idem_key=idem.key,
                fingerprint=idem.fingerprint,
                status=status,
                body=orjson.dumps(body).decode(),
                created_at=utcnow(),
            )
        )
    except IntegrityError as exc:
        raise KeyTaken(idem.key) from exc


async def stored(conn: AsyncConnection, idem: IdemKey) -> Replay | None:
    """The stored answer of ``idem`` (outside a write), checked against the request."""
    try:
        await lookup(conn, idem)
    except Replay as replay:
        return replay
    return None


Action = Callable[[], Awaitable[tuple[int, Any]]]


async def once(db: Any, idem: IdemKey | None, action: Action) -> tuple[int, Any]:
    """Run a keyed write (``action`` calls ``lookup``/``remember``); answer the first result."""
    if idem is None:
        return await action()
    for _attempt in range(3):
        try:
            return await action()
        except Replay as replay:
            return replay.status, orjson.loads(replay.body)
        except KeyTaken:
            async with db.autocommit() as conn:
                replay = await stored(conn, idem)
            if replay is not None:
                return replay.status, orjson.loads(replay.body)
    raise Unavailable(f"{HEADER} {idem.key!r} is being used concurrently; retry", loc=HEADER)


class Pruner:
    """Deletes keys older than the TTL, at most once per ``every_s`` per process."""

    def __init__(self, db: Any, ttl_s: float, every_s: float = PRUNE_EVERY_S) -> None:
        self.db = db
        self.ttl_s = ttl_s
        self.every_s = every_s
        self._last = 0.0
        self._task: asyncio.Task[int] | None = None

    def maybe_prune(self) -> None:
        """Start a background prune when the last one is old enough (never blocks)."""
        now = time.monotonic()
        if now - self._last < self.every_s or (self._task is not None and not self._task.done()):
            return
        self._last = now
        self._task = asyncio.get_running_loop().create_task(self._guarded())

    async def _guarded(self) -> int:
        try:
            return await self.prune()
        except Exception as exc:  # pruning is housekeeping: never fail a request for it
            log.warning("pruning idempotency keys failed: %s", exc)
            return 0

    async def prune(self) -> int:
        """Delete expired keys now; returns how many went."""
        cutoff = utcnow() - timedelta(seconds=self.ttl_s)
        async with self.db.autocommit() as conn:
            result = await conn.execute(
                delete(IdempotencyKey).where(IdempotencyKey.created_at < cutoff)
            )
        return int(result.rowcount or 0)

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
