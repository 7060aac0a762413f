"""`WindowCursor`: a worker's position in a run and the promised values it holds.

Pure and thread-free (no torch, no HTTP): the scheduler moves it one step at a time,
offers it the blocks of values that arrive, and asks it what to fetch next and when.

The prefetch bound: a fetch never asks for values further than `PrefetchBound.ahead(rate)`
steps past the worker's current step, where ``rate`` is the observed steps per second:
``min(max_ahead_steps, max(min_ahead_steps, rate * ahead_s))`` (``initial_ahead_steps``
until a rate is known). So a revision takes effect at most that many steps later, and a
tight loop holds up to ``max_ahead_steps`` so it never waits on a fetch.
"""

from __future__ import annotations

from dataclasses import dataclass

RATE_MIN_INTERVAL_S = 0.002  # shorter intervals give no useful rate sample


@dataclass(frozen=True)
class Block:
    """Promised values for consecutive steps from ``start``, in per-group columns:
    ``lrs[g][i]`` is group g at step ``start + i`` (``momentums`` likewise, or None).

    ``generation`` names the cursor's generation the block was asked for: after a
    `WindowCursor.reset` (a resume), blocks of an older generation are stale."""

    start: int
    lrs: list[list[float]]
    momentums: list[list[float]] | None = None
    next_report: int | None = None
    stop: bool = False
    generation: int = 0

    @property
    def count(self) -> int:
        return len(self.lrs[0]) if self.lrs else 0

    @property
    def end(self) -> int:
        return self.start + self.count


@dataclass(frozen=True)
class PrefetchBound:
    """How far ahead of the worker values are fetched (and so promised)."""

    window_size: int = 32_768  # most steps asked for in one request
    max_ahead_steps: int = 65_536  # never promise more than this past the current step...
    ahead_s: float = 10.0  # ...nor more than this many seconds of training at the rate
    min_ahead_steps: int = 32  # but at least this much (slow loops), within max_ahead_steps
    initial_ahead_steps: int = 128  # before a rate is known

    def __post_init__(self) -> None:
        if not self.window_size >= 1:
            raise ValueError(f"window_size must be >= 1, got {self.window_size!r}")
        for name in ("max_ahead_steps", "min_ahead_steps", "initial_ahead_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if not self.ahead_s > 0:
            raise ValueError(f"ahead_s must be > 0 seconds, got {self.ahead_s!r}")

    def ahead(self, rate: float | None) -> int:
        """The most steps past the current one that may be held, at ``rate`` steps/s."""
        if rate is None:
            wanted = self.initial_ahead_steps
        else:
            wanted = max(self.min_ahead_steps, int(rate * self.ahead_s))
        return max(1, min(self.max_ahead_steps, wanted))


class WindowCursor:
    """The current step, the promised values held from it on, and what to fetch next.

    ``step`` is the step whose values are in force (torch's ``last_epoch``). Hot path:
    `take_fast` (one comparison), then ``lrs[g][index]``; everything else is `advance`.
    """

    def __init__(self, step: int, bound: PrefetchBound | None = None) -> None:
        self.bound = bound or PrefetchBound()
        self.step = step
        self.generation = 0
        self.stop = False
        self.next_report: int | None = None
        self.lrs: list[list[float]] = []  # per-group columns held; index 0 is step _base
        self.momentums: list[list[float]] | None = None
        self._base = step
        self._count = 0
        self._requested: int | None = None  # start of the fetch in flight
        self._rate: float | None = None
        self._mark: tuple[int, float] | None = None
        self.fast_end = -1  # take_fast serves steps below this

    # ---- the hot path ------------------------------------------------------------------
    def take_fast(self) -> int:
        """Move to the next step and return the index of its values in the columns, or -1
        (moving nowhere) when the step needs `advance`: no value held, a fetch to ask
        for, or a pause."""
        k = self.step + 1
        if k < self.fast_end:
            self.step = k
            return k - self._base
        return -1

    # ---- moving ------------------------------------------------------------------------
    @property
    def held_end(self) -> int:
        """The first step after the values held."""
        return self._base + self._count

    def index_of(self, step: int) -> int:
        """The column index of ``step``'s values, or -1 when none is held."""
        if self._base <= step < self._base + self._count:
            return step - self._base
        return -1

    def values_at(self, step: int) -> tuple[list[float], list[float] | None] | None:
        """``(lrs, momentums or None)`` held for ``step``, one per group, or None."""
        i = self.index_of(step)
        if i < 0:
            return None
        moms = None if self.momentums is None else [col[i] for col in self.momentums]
        return [col[i] for col in self.lrs], moms

    def advance(self) -> int:
        """Move to the next step; the index of its values, or -1 when none is held."""
        self.step += 1
        self._refresh_fast()
        return self.index_of(self.step)

    def pause_fast(self) -> None:
        """Send the next step through `advance` (e.g. for a check on the first step)."""
        self.fast_end = -1

    def reset(self, step: int) -> None:
        """Forget every value and fetch (a resume): the cursor stands at ``step``."""
        self.generation += 1
        self.step = step
        self._base = step
        self._count = 0
        self.lrs, self.momentums = [], None
        self._requested = None
        self.next_report = None
        self._mark = None
        self.fast_end = -1

    # ---- values arriving ---------------------------------------------------------------
    def offer(self, block: Block) -> bool:
        """Take a block of promised values; False when it is stale or does not connect.

        A block that starts where the held values end extends them; one that holds the
        current or the next step replaces them (a report's answer, a refetch after an
        outage). Its ``next_report`` and ``stop`` become the cursor's.
        """
        if block.generation != self.generation or block.end <= self.step or not block.count:
            return False
        same_shape = (block.momentums is None) == (self.momentums is None)
        if block.start == self.held_end and self.held_end > self.step and same_shape:
            drop = max(0, self.step - self._base)  # values before the current step go
            for col, new in zip(self.lrs, block.lrs, strict=True):
                del col[:drop]
                col.extend(new)
            for col, new in zip(self.momentums or [], block.momentums or [], strict=True):
                del col[:drop]
                col.extend(new)
            self._base += drop
            self._count += block.count - drop
        elif block.start <= self.step + 1:
            self.lrs = [list(col) for col in block.lrs]
            self.momentums = (
                None if block.momentums is None else [list(col) for col in block.momentums]
            )
            self._base, self._count = block.start, block.count
        else:
            self._refresh_fast()
            return False
        self.next_report = block.next_report
        self.stop = self.stop or block.stop
        self._refresh_fast()
        return True

    def fetch_settled(self, generation: int) -> None:
        """The fetch in flight was answered (offer its block next) or failed: `wanted` may
        ask again."""
        if generation == self.generation:
            self._requested = None
            self._refresh_fast()

    # ---- what to fetch -----------------------------------------------------------------
    @property
    def fetching(self) -> bool:
        return self._requested is not None

    @property
    def rate(self) -> float | None:
        """Observed steps per second (None until measured)."""
        return self._rate

    def observe(self, now: float) -> None:
        """Sample the consumption rate at time ``now`` (seconds, monotonic)."""
        if self._mark is None:
            self._mark = (self.step, now)
            return
        step0, t0 = self._mark
        if now - t0 < RATE_MIN_INTERVAL_S or self.step <= step0:
            return
        sample = (self.step - step0) / (now - t0)
        self._rate = sample if self._rate is None else 0.5 * self._rate + 0.5 * sample
        self._mark = (self.step, now)

    def report_due(self) -> int | None:
        """The report point that blocks further values (None when nothing blocks)."""
        nxt = self.next_report
        if nxt is not None and self.held_end >= nxt:
            return nxt
        return None

    def wanted(self) -> tuple[int, int] | None:
        """``(start, count)`` of the fetch to ask for now, or None; marks it in flight.

        The fetch starts where the held values end, and ends at most `PrefetchBound.ahead`
        steps past the current step. It is asked for when less than half of that is held.
        """
        if self._requested is not None or self.report_due() is not None:
            return None
        start = max(self.held_end, self.step + 1)
        ahead = self.bound.ahead(self._rate)
        if start - 1 - self.step >= max(1, ahead // 2):
            return None
        count = min(self.bound.window_size, self.step + ahead - start + 1)
        if count < 1:
            return None
        self._requested = start
        self._refresh_fast()
        return start, count

    def _refresh_fast(self) -> None:
        """Where the hot path must stop: the held end, or the step where a fetch is due."""
        end = self.held_end
        if self._requested is None and self.report_due() is None:
            ahead = self.bound.ahead(self._rate)
            end = min(end, end - max(1, ahead // 2))
        self.fast_end = end
