"""`WindowCursor` and `PrefetchBound` on their own: no torch, no server, no threads."""

from __future__ import annotations

import pytest

from lrhub.cursor import Block, PrefetchBound, WindowCursor


def block(start: int, count: int, **kw: object) -> Block:
    """One group whose values are the step numbers themselves: every lookup is checkable."""
    return Block(start, [[float(k) for k in range(start, start + count)]], **kw)  # type: ignore[arg-type]


def value(cursor: WindowCursor, index: int) -> float | None:
    return cursor.lrs[0][index] if index >= 0 else None


def walk(cursor: WindowCursor, steps: int) -> list[float | None]:
    """Values met over ``steps`` steps, the fast path first and `advance` when it declines."""
    seen = []
    for _ in range(steps):
        index = cursor.take_fast()
        seen.append(value(cursor, index if index >= 0 else cursor.advance()))
    return seen


def test_values_are_served_in_order_across_extensions() -> None:
    cursor = WindowCursor(-1, PrefetchBound(window_size=8, max_ahead_steps=16))
    assert cursor.offer(block(0, 8))
    assert walk(cursor, 5) == [0, 1, 2, 3, 4]
    assert cursor.offer(block(8, 8))  # contiguous: extends
    assert walk(cursor, 11) == list(range(5, 16))
    assert cursor.step == 15 and cursor.held_end == 16
    assert walk(cursor, 2) == [None, None]  # nothing held: the caller holds its last value
    assert cursor.step == 17


def test_the_fast_path_declines_where_a_fetch_is_due_and_at_the_end() -> None:
    bound = PrefetchBound(window_size=100, max_ahead_steps=100, min_ahead_steps=10)
    cursor = WindowCursor(-1, bound)
    cursor.offer(block(0, 100))
    cursor.observe(0.0)
    cursor.step = 9
    cursor.observe(1.0)  # 10 steps/s for 10 s: 100 steps ahead at most
    assert cursor.rate == pytest.approx(10.0)
    assert cursor.wanted() is None  # 90 held past step 9: more than half of 100
    declined_at = None
    while (index := cursor.take_fast()) >= 0:
        assert value(cursor, index) == cursor.step
    declined_at = cursor.step + 1
    assert declined_at == 50  # held_end 100 minus half the bound
    assert value(cursor, cursor.advance()) == 50
    assert cursor.wanted() == (100, 51)  # its last step is 150 = 50 + 100: the bound
    assert cursor.fetching and cursor.wanted() is None  # one fetch in flight at a time
    while cursor.take_fast() >= 0:  # now the hot path runs to the held end
        pass
    assert cursor.step == 99


def test_a_promise_never_reaches_past_the_bound() -> None:
    bound = PrefetchBound(window_size=4096, max_ahead_steps=8192, ahead_s=2.0)
    cursor = WindowCursor(-1, bound)
    now = 0.0
    furthest = -1
    cursor.offer(block(0, 64))
    for _ in range(200_000):
        if cursor.take_fast() < 0:
            now += 0.001  # slow steps cost time; fast ones are free here
            cursor.advance()
            cursor.observe(now)
            wanted = cursor.wanted()
            if wanted is not None:
                start, count = wanted
                furthest = max(furthest, start + count - 1)
                assert start + count - 1 - cursor.step <= bound.ahead(cursor.rate)
                assert start + count - 1 - cursor.step <= bound.max_ahead_steps
                cursor.fetch_settled(cursor.generation)
                cursor.offer(block(start, count))
    assert furthest >= 199_999  # and the loop never ran dry
    assert cursor.rate is not None and cursor.rate > 1e5


def test_a_slow_loop_is_bounded_by_seconds_not_steps() -> None:
    bound = PrefetchBound(window_size=4096, max_ahead_steps=8192, ahead_s=10.0, min_ahead_steps=4)
    cursor = WindowCursor(-1, bound)
    cursor.offer(block(0, 1))
    cursor.observe(0.0)
    asked = []
    for second in range(1, 300):  # one step per second
        assert value(cursor, cursor.advance()) == second - 1
        cursor.observe(float(second))
        wanted = cursor.wanted()
        if wanted is not None:
            start, count = wanted
            asked.append(start + count - 1 - cursor.step)
            cursor.fetch_settled(cursor.generation)
            cursor.offer(block(start, count))
    assert asked[0] <= bound.initial_ahead_steps  # before any rate is known
    assert asked[-1] <= 10  # then: ten seconds of training at one step per second
    assert cursor.rate == pytest.approx(1.0)
    assert bound.ahead(cursor.rate) == 10


def test_bound_formula() -> None:
    bound = PrefetchBound(max_ahead_steps=8192, ahead_s=10.0, min_ahead_steps=32)
    assert bound.ahead(None) == bound.initial_ahead_steps == 128
    assert bound.ahead(0.1) == 32
    assert bound.ahead(100.0) == 1000
    assert bound.ahead(1e9) == 8192
    with pytest.raises(ValueError, match="ahead_s"):
        PrefetchBound(ahead_s=0)
    with pytest.raises(ValueError, match="max_ahead_steps"):
        PrefetchBound(max_ahead_steps=0)
    assert PrefetchBound(min_ahead_steps=10, max_ahead_steps=5).ahead(0.0) == 5  # max wins


def test_a_report_point_blocks_fetching_until_a_block_from_the_report_arrives() -> None:
    cursor = WindowCursor(-1)
    cursor.offer(block(0, 3, next_report=3))
    assert walk(cursor, 3) == [0, 1, 2]
    assert cursor.report_due() == 3
    assert cursor.wanted() is None  # nothing to fetch before the report
    assert cursor.take_fast() < 0
    assert cursor.offer(block(3, 2, next_report=5))  # the report's answer, from step 3
    assert cursor.report_due() == 5
    assert walk(cursor, 2) == [3, 4]


def test_a_block_holding_the_current_step_replaces_the_held_values() -> None:
    cursor = WindowCursor(-1)
    cursor.offer(block(0, 10))
    walk(cursor, 4)  # at step 3
    replacement = Block(3, [[30.0, 40.0, 50.0]])
    assert cursor.offer(replacement)
    assert cursor.values_at(3) == ([30.0], None)
    assert walk(cursor, 3) == [40.0, 50.0, None]


def test_stale_blocks_are_refused() -> None:
    cursor = WindowCursor(-1)
    cursor.offer(block(0, 10))
    walk(cursor, 6)  # at step 5
    assert not cursor.offer(block(0, 4))  # ends before the current step
    assert not cursor.offer(block(12, 4))  # leaves a gap
    assert walk(cursor, 4) == [6, 7, 8, 9]


def test_reset_forgets_everything_and_refuses_older_generations() -> None:
    cursor = WindowCursor(-1)
    cursor.offer(block(0, 10))
    assert cursor.wanted() is not None
    old = cursor.generation
    cursor.reset(40)
    assert cursor.step == 40 and cursor.values_at(40) is None and not cursor.fetching
    assert not cursor.offer(Block(40, [[1.0, 2.0]], generation=old))  # asked before the resume
    assert cursor.offer(Block(40, [[7.0, 8.0]], [[0.9, 0.8]], generation=cursor.generation))
    assert cursor.values_at(40) == ([7.0], [0.9])
    assert walk(cursor, 1) == [8.0]


def test_a_failed_fetch_can_be_asked_again() -> None:
    cursor = WindowCursor(-1, PrefetchBound(window_size=4, max_ahead_steps=8))
    cursor.offer(block(0, 2))
    cursor.advance()
    first = cursor.wanted()
    assert first is not None and cursor.wanted() is None
    cursor.fetch_settled(cursor.generation + 1)  # another generation's answer: no effect
    assert cursor.fetching
    cursor.fetch_settled(cursor.generation)
    assert cursor.wanted() == first


def test_stop_sticks_and_pause_sends_one_step_to_advance() -> None:
    cursor = WindowCursor(-1)
    cursor.offer(block(0, 4))
    cursor.pause_fast()
    assert cursor.take_fast() < 0 and cursor.step == -1
    assert value(cursor, cursor.advance()) == 0
    assert cursor.take_fast() < 0  # 3 held, far below the bound: a fetch is due first
    assert cursor.wanted() == (4, 125)  # up to step 128 = 0 + the initial bound (no rate yet)
    assert value(cursor, cursor.take_fast()) == 1
    cursor.offer(block(4, 2, stop=True))
    cursor.offer(block(6, 2))
    assert cursor.stop
