"""Coalesce concurrent identical reads into one query without ever answering from the past.

Every caller gets the result of a query *sent after it asked*: while one query for a key is
in flight, callers queue for the next one, which starts as soon as the current one returns.
Under load one primary-key read then serves every request for a run that arrived during the
previous round trip, and a read never misses a write acknowledged before it arrived.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")
C = TypeVar("C")


@dataclass
class _Slot:
    in_flight: bool = False
    waiting: asyncio.Future[Any] | None = field(default=None)


class Coalescer(Generic[T]):
    """``await coalescer.get(key)`` runs ``fetch(key)`` at most once per round trip and key."""

    def __init__(self, fetch: Callable[[int], Awaitable[T]]) -> None:
        self._fetch = fetch
        self._slots: dict[int, _Slot] = {}

    async def get(self, key: int) -> T:
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot()
        future = slot.waiting
        if future is None:
            loop = asyncio.get_running_loop()
            future = slot.waiting = loop.create_future()
            if not slot.in_flight:  # start soon: callers arriving in this loop turn join
                slot.in_flight = True
                loop.call_soon(self._launch, key, slot)
        return await asyncio.shield(future)  # type: ignore[no-any-return]

    def _launch(self, key: int, slot: _Slot) -> None:
        future, slot.waiting = slot.waiting, None
        assert future is not None
        asyncio.get_running_loop().create_task(self._run(key, slot, future))

    async def _run(self, key: int, slot: _Slot, future: asyncio.Future[Any]) -> None:
        try:
            result = await self._fetch(key)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters may all have gone
        else:
            future.set_result(result)
        finally:
            if slot.waiting is not None:  # they all asked after this query was sent
                self._launch(key, slot)
            else:
                slot.in_flight = False
                self._slots.pop(key, None)


@dataclass
class _Batch(Generic[C]):
    claims: list[C] = field(default_factory=list)
    future: asyncio.Future[Any] | None = None


class CounterBatcher(Generic[C, T]):
    """Merge concurrent ``advance`` calls on one run into one atomic statement.

    ``take(run_id, claim)`` returns this caller's own outcome. Callers that arrive while a
    statement is in flight form the next batch; ``run(run_id, claims)`` executes one batch
    (one statement adding the sum of its counts) and returns one outcome per claim in
    arrival order, or None when the run does not exist. Nothing is acknowledged before the
    statement committed, and every step goes to exactly one caller.
    """

    def __init__(self, run: Callable[[int, list[C]], Awaitable[list[T] | None]]) -> None:
        self._run_batch = run
        self._waiting: dict[int, _Batch[C]] = {}
        self._in_flight: set[int] = set()

    async def take(self, run_id: int, claim: C) -> T | None:
        batch = self._waiting.get(run_id)
        if batch is None:
            loop = asyncio.get_running_loop()
            batch = self._waiting[run_id] = _Batch(future=loop.create_future())
            if run_id not in self._in_flight:
                self._in_flight.add(run_id)
                loop.call_soon(self._launch, run_id)
        index = len(batch.claims)
        batch.claims.append(claim)
        assert batch.future is not None
        outcomes = await asyncio.shield(batch.future)
        return None if outcomes is None else outcomes[index]  # type: ignore[no-any-return]

    def _launch(self, run_id: int) -> None:
        batch = self._waiting.pop(run_id)
        asyncio.get_running_loop().create_task(self._run(run_id, batch))

    async def _run(self, run_id: int, batch: _Batch[C]) -> None:
        assert batch.future is not None
        try:
            result = await self._run_batch(run_id, batch.claims)
        except BaseException as exc:
            batch.future.set_exception(exc)
            batch.future.exception()
        else:
            batch.future.set_result(result)
        finally:
            if run_id in self._waiting:
                self._launch(run_id)
            else:
                self._in_flight.discard(run_id)
