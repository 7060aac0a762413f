"""``POST /v1/preview``: a spec's curve as a ``Window``, nothing stored."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from lrhub_service.api.responses import hub_of, json_response
from lrhub_service.api.schemas import Preview
from lrhub_service.engine import SpecError
from lrhub_service.usecases.errors import Invalid
from lrhub_service.usecases.preview import PreviewInputError, evaluate_preview
from lrhub_service.usecases.spec_errors import invalid_spec

router = APIRouter(prefix="/v1", tags=["preview"])


@router.post("/preview")
async def preview(request: Request, body: Preview) -> Response:
    """Evaluate ``steps`` values of a spec from step 0 (base_lrs needed when the spec has none)."""
    try:
        curve = evaluate_preview(
            body.schedule,
            body.steps,
            1,  # the groups are base_lrs' (the spec's own base_lr list otherwise)
            body.base_lrs,
            body.steps_per_epoch,
            base_momentums=body.base_momentums,
            max_steps=hub_of(request).settings.preview_max_steps,
            relative=False,
        )
    except PreviewInputError as exc:
        raise Invalid(exc.detail, errors=exc.errors) from exc
    except SpecError as exc:
        raise invalid_spec(exc, "schedule", built=True) from exc
    return json_response(
        {
            "start": 0,
            "count": curve.steps,
            "revision": 0,
            "lrs": curve.lrs,
            "momentums": curve.momentums,
            "next_report": None,
            "stop": curve.stopped,
            "promised_through": None,
        }
    )
