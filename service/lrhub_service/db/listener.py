"""Changed runs announced with PostgreSQL LISTEN/NOTIFY, so value reads skip the database.

Every write that can change a run's values (a revision, a report that bumps the metric
state, a resume, a restart, an attach that stores base values) runs ``announce`` inside its
transaction: PostgreSQL delivers ``NOTIFY lrhub_runs, '<run id>'`` to every listening
server process when (and only if) the transaction commits. Each process keeps the
freshness triple of the runs it served and drops one on its notification.

Rules that keep a cached triple honest:

- the cache is used only while the listener connection is up; losing it empties the cache
  (notifications may have been missed) and reads query the database until it is back;
- a query result is cached only if no notification arrived while it was in flight
  (``changes`` did not move), so a result read before a commit can't outlive its
  notification;
- the writing process drops its own entry right after commit, so a client reading back
  through the process it wrote to always sees its write.

The window that remains: another process may answer from its cache between the commit and
the moment its listener has processed the notification (normally well under a
millisecond on one host; bounded by the heartbeat when a connection dies silently).
Values at steps up to the run's horizon never change in that window (revisions and reports
take effect after it); only reads beyond the horizon, and reads racing a resume, can see
the previous revision for that long.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, NamedTuple

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger("lrhub.listener")

CHANNEL = "lrhub_runs"
NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', CAST(:run_id AS text))")
HEARTBEAT_S = 1.0
MAX_BACKOFF_S = 5.0
MAX_ENTRIES = 100_000


class Freshness(NamedTuple):
    revision: int
    state_version: int
    horizon: int


async def announce(conn: AsyncConnection, run_id: int, *, is_sqlite: bool) -> None:
    """Tell every server process, at commit, that ``run_id``'s values may have changed."""
    if not is_sqlite:
        await conn.execute(NOTIFY, {"run_id": str(run_id)})


class FreshnessCache:
    """Per-run freshness triples, valid while a LISTEN connection is up."""

    def __init__(self, connect_kwargs: dict[str, Any], heartbeat_s: float = HEARTBEAT_S) -> None:
        self._connect_kwargs = connect_kwargs
        self._heartbeat_s = heartbeat_s
        self._items: dict[int, Freshness] = {}
        self._task: asyncio.Task[None] | None = None
        self.live = False
        self.changes = 0
        self.server_pid: int | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._listen_forever())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._go_dark()

    def get(self, run_id: int) -> Freshness | None:
        return self._items.get(run_id) if self.live else None

    def put(self, run_id: int, fresh: Freshness, changes_seen: int) -> None:
        """Keep a query result unless a notification (or a drop) arrived since it was sent."""
        if self.live and self.changes == changes_seen:
            if len(self._items) >= MAX_ENTRIES:
                self._items.clear()
            self._items[run_id] = fresh

    def forget(self, run_id: int) -> None:
        self.changes += 1
        self._items.pop(run_id, None)

    def raise_horizon(self, run_id: int, horizon: int) -> None:
        """A promise this process made: the horizon only grows until a notified resume."""
        item = self._items.get(run_id)
        if item is not None and horizon > item.horizon:
            self._items[run_id] = item._replace(horizon=horizon)

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self.changes += 1
        try:
            self._items.pop(int(payload), None)
        except ValueError:
            self._items.clear()

    def _go_dark(self) -> None:
        self.live = False
        self.changes += 1
        self._items.clear()

    async def _listen_forever(self) -> None:
        import asyncpg

        backoff = 0.1
        while True:
            conn: Any = None
            try:
                conn = await asyncpg.connect(**self._connect_kwargs)
                await conn.add_listener(CHANNEL, self._on_notify)
                conn.add_termination_listener(lambda _c: self._go_dark())
                self.changes += 1
                self._items.clear()
                self.server_pid = conn.get_server_pid()
                self.live = True
                backoff = 0.1
                while True:
                    await asyncio.sleep(self._heartbeat_s)
                    await asyncio.wait_for(conn.fetchval("SELECT 1"), self._heartbeat_s * 2)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database went away: read through until it is back
                if self.live:
                    log.warning("change listener lost (%s); reads query the database", exc)
            finally:
                self._go_dark()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.terminate()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)
