"""The composition root: builds the database objects and the use cases' ``Hub``.

The api and cli packages get everything that touches the database from here, so neither
imports the db package: ``open_hub`` opens a server's database handles (migrating SQLite
first when asked), ``close_hub`` releases them.
"""

from __future__ import annotations

import asyncio
import gc

from lrhub_service.db import migrate
from lrhub_service.db.engine import Database
from lrhub_service.db.run_store import FastRuns
from lrhub_service.settings import Settings
from lrhub_service.usecases.hub import Hub


async def open_hub(settings: Settings, *, fast_path: bool = True) -> Hub:
    """The database handles of one process, ready to serve (SQLite migrated if asked).

    ``fast_path=False`` skips the raw-driver pools (one-shot commands read through SQLAlchemy
    only need ``hub.db``).
    """
    db = Database(
        settings.database_url,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_max_overflow,
        pool_timeout=settings.pool_timeout,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
    )
    if db.is_sqlite and settings.auto_migrate:
        await asyncio.to_thread(migrate.upgrade_locked, settings.database_url)
    fast = FastRuns(
        settings.database_url,
        pool_size=settings.fast_pool_size,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        read_cache=settings.read_cache,
    )
    if fast_path:
        await fast.open()
    hub = Hub(settings, db, fast)
    settle_heap()
    return hub


def settle_heap() -> None:
    """Move the startup heap (modules, schemas, compiled statements: ~100k objects) out of
    the garbage collector's reach: a full collection then walks only what requests made,
    so it never holds the event loop near 100 ms (it took 90 ms on a loaded 2-core box)."""
    gc.collect()
    gc.freeze()


async def close_hub(hub: Hub) -> None:
    """Release what ``open_hub`` opened."""
    hub.evaluator.close()
    await hub.pruner.close()
    await hub.fast.close()
    await hub.db.dispose()
