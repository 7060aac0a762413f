"""Worker identities: the last step each (host, pid, rank) reported."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from lrhub_service.db.models import Worker, utcnow


def identity_of(worker: dict[str, Any]) -> str:
    """A stable key for a worker: host, pid and rank."""
    return f"{worker.get('host') or '?'}:{worker.get('pid') or '?'}:{worker.get('rank', '?')}"


async def touch_worker(
    conn: AsyncConnection, run_id: int, worker: dict[str, Any], step: int, *, is_sqlite: bool
) -> None:
    """Upsert the worker's row with the step it reached."""
    insert = sqlite_insert if is_sqlite else pg_insert
    statement = insert(Worker).values(
        run_id=run_id, identity=identity_of(worker), info=worker, step=step, last_seen=utcnow()
    )
    statement = statement.on_conflict_do_update(
        index_elements=[Worker.run_id, Worker.identity],
        set_={"info": statement.excluded.info, "step": step, "last_seen": utcnow()},
    )
    await conn.execute(statement)
