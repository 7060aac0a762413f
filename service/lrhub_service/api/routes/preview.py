"""``POST /v1/preview``: a spec's curve, nothing stored."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from lrhub_service.api.responses import hub_of, json_response
from lrhub_service.api.schemas import Preview
from lrhub_service.engine import SpecError
from lrhub_service.usecases.compiled import SegmentRecord, build
from lrhub_service.usecases.errors import Invalid
from lrhub_service.usecases.runs import parse_schedule

router = APIRouter(prefix="/v1", tags=["preview"])
MAX_VALUES = 2_000_000


@router.post("/preview")
async def preview(request: Request, body: Preview) -> Response:
    """Evaluate ``steps`` values of a spec from step 0 (base_lrs needed when the spec has none)."""
    limit = hub_of(request).settings.preview_max_steps
    if body.steps > limit:
        raise Invalid(f"must be <= {limit}", loc="steps")
    groups = len(body.base_lrs) if body.base_lrs else 1
    if body.steps * groups > MAX_VALUES:
        raise Invalid(f"steps x groups must be <= {MAX_VALUES}", loc="steps")
    canonical = parse_schedule(body.schedule)
    segment = SegmentRecord(revision=1, start=0, schedule=canonical, clock_offset=0, scale=None)
    try:
        schedule = build([segment], body.base_lrs, body.base_momentums, body.steps_per_epoch)
        state = schedule.initial_state()
        if schedule.num_groups * body.steps > MAX_VALUES:
            raise Invalid(f"steps x groups must be <= {MAX_VALUES}", loc="steps")
        lrs, momentums = schedule.window(0, body.steps, state)
    except SpecError as exc:
        raise Invalid(exc.detail, errors=[_prefixed(e) for e in exc.errors]) from exc
    return json_response(
        {
            "start": 0,
            "count": body.steps,
            "revision": 0,
            "lrs": lrs.tolist(),
            "momentums": momentums.tolist() if momentums is not None else None,
            "next_report": None,
            "stop": state.stopped,
        }
    )


def _prefixed(error: dict[str, str]) -> dict[str, str]:
    loc = error["loc"]
    if loc.endswith("base_lr") and loc.count(".") == 0:
        return {"loc": "base_lrs", "msg": error["msg"]}
    return {"loc": f"schedule.{loc}" if loc else "schedule", "msg": error["msg"]}
