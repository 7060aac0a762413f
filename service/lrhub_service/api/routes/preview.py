"""``POST /v1/preview``: a spec's curve, nothing stored."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from lrhub_service.api.responses import hub_of, json_response
from lrhub_service.api.schemas import Preview
from lrhub_service.engine import SpecError
from lrhub_service.usecases.compiled import SegmentRecord, build
from lrhub_service.usecases.compute import LimitExceeded, request_cost, spec_weight
from lrhub_service.usecases.errors import Invalid
from lrhub_service.usecases.runs import parse_schedule

router = APIRouter(prefix="/v1", tags=["preview"])
MAX_VALUES = 2_000_000  # steps x groups, once the groups of the built schedule are known


@router.post("/preview")
async def preview(request: Request, body: Preview) -> Response:
    """Evaluate ``steps`` values of a spec from step 0 (base_lrs needed when the spec has none)."""
    settings = hub_of(request).settings
    limit = settings.preview_max_steps
    if body.steps > limit:
        raise LimitExceeded("steps", f"must be <= {limit} (the preview_max_steps limit)")
    groups = len(body.base_lrs) if body.base_lrs else 1
    if body.steps * groups > settings.preview_max_values:
        raise LimitExceeded(
            "steps",
            f"steps x groups must be <= {settings.preview_max_values} "
            "(the preview_max_values limit)",
        )
    cost = request_cost(spec_weight([body.schedule]), 0, body.steps, groups)
    return json_response(await hub_of(request).evaluator.run(cost, "steps", _evaluate, body))


def _evaluate(body: Preview) -> dict[str, Any]:
    """The preview ``Window`` (runs on the evaluation worker: parse, build, evaluate)."""
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
    return {
        "start": 0,
        "count": body.steps,
        "revision": 0,
        "lrs": [list(c) for c in lrs],
        "momentums": [list(c) for c in momentums] if momentums is not None else None,
        "next_report": None,
        "stop": state.stopped,
    }


def _prefixed(error: dict[str, str]) -> dict[str, str]:
    loc = error["loc"]
    if loc.endswith("base_lr") and loc.count(".") == 0:
        return {"loc": "base_lrs", "msg": error["msg"]}
    return {"loc": f"schedule.{loc}" if loc else "schedule", "msg": error["msg"]}
