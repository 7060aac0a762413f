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
class _Batch:
    counts: list[int] = field(default_factory=list)
    future: asyncio.Future[Any] | None = None


class CounterBatcher:
    """Merge concurrent ``advance`` calls on one run into one atomic ``UPDATE``.

    ``take(run_id, n)`` returns ``(first_step, revision, state_version)`` for a block of
    ``n`` steps of its own. Callers that arrive while a statement is in flight form the
    next batch; each batch is one statement adding the sum of its counts, and the range it
    returns is split among its callers in arrival order, so every step goes to exactly one
    caller and none is acknowledged before the statement committed.
    """

    def __init__(self, take: Callable[[int, int], Awaitable[tuple[int, int, int] | None]]) -> None:
        self._take = take
        self._waiting: dict[int, _Batch] = {}
        self._in_flight: set[int] = set()

    async def take(self, run_id: int, count: int) -> tuple[int, int, int] | None:
        batch = self._waiting.get(run_id)
        if batch is None:
            loop = asyncio.get_running_loop()
            batch = self._waiting[run_id] = _Batch(future=loop.create_future())
            if run_id not in self._in_flight:
                self._in_flight.add(run_id)
                loop.call_soon(self._launch, run_id)
        offset = sum(batch.counts)
        batch.counts.append(count)
        assert batch.future is not None
        result = await asyncio.shield(batch.future)
        if result is None:
            return None
        end, revision, state_version = result
        return end - sum(batch.counts) + offset, revision, state_version

    def _launch(self, run_id: int) -> None:
        batch = self._waiting.pop(run_id)
        asyncio.get_running_loop().create_task(self._run(run_id, batch))

    async def _run(self, run_id: int, batch: _Batch) -> None:
        assert batch.future is not None
        try:
            result = await self._take(run_id, sum(batch.counts))
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
