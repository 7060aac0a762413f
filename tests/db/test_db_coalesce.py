"""The read coalescer: one query per round trip, never an answer older than the question."""

from __future__ import annotations

import asyncio

import pytest

from lrhub_service.db.coalesce import Coalescer


def test_callers_share_a_query_sent_after_they_asked() -> None:
    async def scenario() -> None:
        counter = {"value": 0, "queries": 0}
        release = asyncio.Event()

        async def fetch(key: int) -> int:
            counter["queries"] += 1
            seen = counter["value"]  # the "database" as of when the query is sent
            await release.wait()
            return seen

        coalescer: Coalescer[int] = Coalescer(fetch)
        first = [asyncio.create_task(coalescer.get(1)) for _ in range(10)]
        while counter["queries"] == 0:  # until the first query is in flight
            await asyncio.sleep(0)
        counter["value"] = 1  # a write acknowledged while it is in flight...
        later = [asyncio.create_task(coalescer.get(1)) for _ in range(10)]
        await asyncio.sleep(0)
        release.set()
        assert await asyncio.gather(*first) == [0] * 10
        assert await asyncio.gather(*later) == [1] * 10  # ...is seen by later callers
        assert counter["queries"] == 2
        other = await coalescer.get(2)
        assert other == 1 and counter["queries"] == 3

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_failures_reach_every_waiter_and_do_not_stick() -> None:
    async def scenario() -> None:
        calls = {"n": 0}

        async def fetch(key: int) -> int:
            calls["n"] += 1
            await asyncio.sleep(0.01)
            if calls["n"] == 1:
                raise ConnectionError("database down")
            return key * 10

        coalescer: Coalescer[int] = Coalescer(fetch)
        results = await asyncio.gather(
            *[coalescer.get(4) for _ in range(5)], return_exceptions=True
        )
        assert all(isinstance(r, ConnectionError) for r in results)
        assert await coalescer.get(4) == 40

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_a_cancelled_caller_does_not_cancel_the_others() -> None:
    async def scenario() -> None:
        async def fetch(key: int) -> int:
            await asyncio.sleep(0.05)
            return 7

        coalescer: Coalescer[int] = Coalescer(fetch)
        doomed = asyncio.create_task(coalescer.get(1))
        survivor = asyncio.create_task(coalescer.get(1))
        await asyncio.sleep(0.01)
        doomed.cancel()
        assert await survivor == 7
        with pytest.raises(asyncio.CancelledError):
            await doomed

    asyncio.run(asyncio.wait_for(scenario(), 10))


def test_counter_batches_split_one_statement_among_callers() -> None:
    from lrhub_service.db.coalesce import CounterBatcher

    async def scenario() -> None:
        state = {"next": 0, "statements": 0}

        async def take(run_id: int, counts: list[int]) -> list[int]:
            state["statements"] += 1
            await asyncio.sleep(0.005)
            firsts = []
            for count in counts:  # one "statement" hands out the whole batch, in order
                firsts.append(state["next"])
                state["next"] += count
            return firsts

        batcher: CounterBatcher[int, int] = CounterBatcher(take)
        counts = [1, 3, 1, 2] * 25
        results = await asyncio.gather(*[batcher.take(9, n) for n in counts])
        steps = sorted(
            s for first, n in zip(results, counts, strict=True) for s in range(first, first + n)
        )
        assert steps == list(range(sum(counts)))
        assert state["statements"] < len(counts)  # concurrent callers shared statements

        async def missing(run_id: int, counts: list[int]) -> None:
            return None

        assert await CounterBatcher(missing).take(1, 1) is None

    asyncio.run(asyncio.wait_for(scenario(), 10))
