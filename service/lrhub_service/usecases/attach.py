"""Use case: attach an optimizer to a run (base values at the first attach, start step).

The start step is the run's progress, except for a worker of a launch (``worker.launch``):
the first attach of a launch fixes it for every rank of the launch (see ``launches``).
"""

from __future__ import annotations

from typing import Any

from lrhub_service.usecases import events, launches, unit_of_work
from lrhub_service.usecases.compute import UNKNOWN_US, request_us
from lrhub_service.usecases.errors import Conflict, Invalid
from lrhub_service.usecases.hub import Hub
from lrhub_service.usecases.idempotency import IdemKey
from lrhub_service.usecases.run_json import run_json
from lrhub_service.usecases.runs import describe
from lrhub_service.usecases.status import STATUS_CREATED, STATUS_RUNNING
from lrhub_service.usecases.unit_of_work import RunWork
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

    async def act(work: RunWork) -> tuple[int, dict[str, Any]]:
        row = work.run
        changes: dict[str, Any] = {}
        if row.base_lrs is None:
            shape = await work.hub.evaluator.run(
                UNKNOWN_US,
                "base_lrs",
                describe,
                row.schedule,
                base_lrs,
                base_momentums,
                (row.options or {}).get("steps_per_epoch"),
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
        start, clean_exit = row.progress, row.clean_exit
        joined = await launches.join(work, worker)
        if joined is not None:
            start, clean_exit = joined
        if row.status == STATUS_CREATED:
            changes["status"] = STATUS_RUNNING
        await work.rows.update(run_id, **changes)
        await work.rows.raise_horizon(run_id, start)
        state_version = row.state_version
        if "base_lrs" in changes:  # new inputs of the values: a new version for every cache
            state_version = await work.new_state_version()
        await events.record(
            work.records,
            run_id,
            events.EventKind.ATTACHED,
            start,
            {"worker": worker, "num_groups": len(base_lrs)},
        )
        await touch_worker(work.records, run_id, worker, start)
        fresh = await work.rows.get(run_id)
        compiled = await work.compiled_run(row.revision, state_version)
        work.keep(compiled)
        answer = {
            "run": run_json(fresh),
            "start_step": start,
            "values": await work.hub.evaluator.run(
                request_us(compiled, 1), "step", value_json, compiled, start
            ),
            "clean_exit": clean_exit,
        }
        return 200, answer

    return (await unit_of_work.write(hub, run_id, idem, act))[1]  # type: ignore[no-any-return]
