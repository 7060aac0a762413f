"""Use case: resume a run at a checkpoint's step (later reports stop counting)."""

from __future__ import annotations

from typing import Any

from lrhub_service.usecases import events, launches, unit_of_work
from lrhub_service.usecases.compiled import CompiledRun
from lrhub_service.usecases.errors import Conflict
from lrhub_service.usecases.hub import Hub, load_compiled
from lrhub_service.usecases.idempotency import IdemKey
from lrhub_service.usecases.run_json import run_json
from lrhub_service.usecases.status import status_of
from lrhub_service.usecases.unit_of_work import RunWork


async def resume(
    hub: Hub,
    run_id: int,
    step: int,
    worker: dict[str, Any] | None,
    idem: IdemKey | None = None,
) -> dict[str, Any]:
    """Set the run back to ``step``: later reports stop counting, the state is refolded.

    Once per launch and step: another rank of the same launch resuming at the same step
    (every rank loads the checkpoint) gets the run as it is."""

    async def act(work: RunWork) -> tuple[int, dict[str, Any]]:
        run = work.run
        if await launches.resumed_by_another_rank(work, worker, step):
            return 200, run_json(run)
        dropped = await work.records.uncount_reports(run_id, after_step=step)
        await work.launches.drop_rank_reports(run_id, after_step=step)
        await work.rows.update(run_id, progress=step, horizon=step, next_step=step, clean_exit=None)
        await work.new_state_version()
        compiled: CompiledRun | None
        try:
            compiled = await load_compiled(
                work.rows, work.records, run_id, work.hub.evaluator, write=True
            )
        except Conflict:  # not attached yet: nothing to refold
            compiled = None
        if compiled is not None:
            await work.rows.update(run_id, status=status_of(compiled.folded.latest()))
        work.keep(compiled)
        await events.record(
            work.records,
            run_id,
            events.EventKind.RESUMED,
            step,
            {"from_progress": run.progress, "uncounted_reports": dropped, "worker": worker},
        )
        return 200, run_json(await work.rows.get(run_id))

    return (await unit_of_work.write(hub, run_id, idem, act))[1]  # type: ignore[no-any-return]
