"""Use-case: attach an optimizer to a run (base values at the first attach, start step)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from lrhub_service.db.listener import announce
from lrhub_service.db.models import Run, utcnow
from lrhub_service.usecases import events
from lrhub_service.usecases.compute import run_cost, spec_weight
from lrhub_service.usecases.errors import Conflict, Invalid, run_not_found
from lrhub_service.usecases.hub import Hub, greatest
from lrhub_service.usecases.idempotency import IdemKey, lookup, once, remember
from lrhub_service.usecases.runs import RUN_COLUMNS, describe, fetch_run, run_json
from lrhub_service.usecases.values import value_json
from lrhub_service.usecases.workers import touch_worker


async def attach(
    hub: Hub,
    run_id: int,
    base_lrs: list[float],
    base_momentums: list[float] | None,
    worker: dict[str, Any] | None,
    idem: IdemKey | None = None,
) -> dict[str, Any]:
    """Store base values at the first attach; hand out the values at the run's progress.

    ``clean_exit`` in the answer tells whether the last worker heard from exited cleanly
    (``POST /progress`` with ``final: true``) rather than while training (a crash).
    """

    async def act() -> tuple[int, dict[str, Any]]:
        async with hub.db.transaction() as conn:
            query = select(*RUN_COLUMNS).where(Run.id == run_id)
            if not hub.db.is_sqlite:
                query = query.with_for_update()
            row = (await conn.execute(query)).first()
            if row is None:
                raise run_not_found(run_id)
            await lookup(conn, idem)
            changes: dict[str, Any] = {}
            if row.base_lrs is None:
                steps_per_epoch = (row.options or {}).get("steps_per_epoch")
                cost = spec_weight([row.schedule]).nodes
                shape = await hub.evaluator.run(
                    cost,
                    "base_lrs",
                    describe,
                    row.schedule,
                    base_lrs,
                    base_momentums,
                    steps_per_epoch,
                    "base_lrs",
                )
                if shape is None:  # pragma: no cover - bases were given
                    raise Invalid("base_lrs could not be applied", loc="base_lrs")
                if shape.num_groups != len(base_lrs):
                    raise Conflict(
                        f"the schedule has {shape.num_groups} parameter groups but the optimizer "
                        f"has {len(base_lrs)}",
                        loc="base_lrs",
                    )
                changes.update(
                    base_lrs=base_lrs,
                    base_momentums=base_momentums,
                    num_groups=shape.num_groups,
                    has_momentum=shape.has_momentum,
                    metric_driven=shape.metric_driven,
                )
            elif row.num_groups is not None and row.num_groups != len(base_lrs):
                raise Conflict(
                    f"run {run_id} has {row.num_groups} parameter groups but this optimizer has "
                    f"{len(base_lrs)}",
                    loc="base_lrs",
                )
            start = row.progress
            if row.status == "created":
                changes["status"] = "running"
            changes["horizon"] = greatest(Run.horizon, start)
            changes["updated_at"] = utcnow()
            await conn.execute(update(Run).where(Run.id == run_id).values(**changes))
            if "base_lrs" in changes:
                await announce(conn, run_id, is_sqlite=hub.db.is_sqlite)
            await events.record(
                conn, run_id, "attached", start, {"worker": worker, "num_groups": len(base_lrs)}
            )
            if worker is not None:
                await touch_worker(conn, run_id, worker, start, is_sqlite=hub.db.is_sqlite)
            fresh = await fetch_run(conn, run_id)
            compiled = await hub.compiled(conn, run_id, fresh.revision, fresh.state_version)
            answer = {
                "run": run_json(fresh),
                "start_step": start,
                "values": await hub.evaluator.run(
                    run_cost(compiled, start, 1), "step", value_json, compiled, start
                ),
                "clean_exit": fresh.clean_exit,
            }
            await remember(conn, idem, 200, answer)
        hub.fast.forget(run_id)
        return 200, answer

    return (await once(hub.db, idem, act))[1]  # type: ignore[no-any-return]
