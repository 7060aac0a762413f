"""``POST /v1/preview``: a spec's curve, nothing stored (the preview use case, as a Window)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from lrhub_service.api.bodies import Window
from lrhub_service.api.responses import hub_of, json_response
from lrhub_service.api.schemas import Preview
from lrhub_service.engine import SpecError, validate_spec
from lrhub_service.usecases.compute import UNKNOWN_US, LimitExceeded, admit_preview
from lrhub_service.usecases.errors import Invalid
from lrhub_service.usecases.preview import PreviewInputError, evaluate_preview
from lrhub_service.usecases.spec_errors import invalid_spec

router = APIRouter(prefix="/v1", tags=["preview"])


@router.post("/preview", response_model=Window)
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
    window = await hub_of(request).evaluator.run(
        UNKNOWN_US, "steps", _evaluate, body, limit, groups
    )
    return json_response(window)


def _evaluate(body: Preview, max_steps: int, groups: int) -> dict[str, Any]:
    """The preview ``Window`` (on the evaluation worker: parse, admit by the engine's cost
    estimate of ``steps x groups`` values with the spec's one-off work, build, evaluate)."""
    try:
        spec, found = validate_spec(body.schedule)
        own = getattr(spec, "base_lr", None)  # a spec's own base_lr list sets the groups
        admit_preview(found, body.steps, max(groups, len(own) if isinstance(own, list) else 1))
        curve = evaluate_preview(
            body.schedule,
            body.steps,
            1,  # the groups are base_lrs' (the spec's own base_lr list otherwise)
            body.base_lrs,
            body.steps_per_epoch,
            base_momentums=body.base_momentums,
            max_steps=max_steps,
            relative=False,
        )
    except PreviewInputError as exc:
        raise Invalid(exc.detail, errors=exc.errors) from exc
    except SpecError as exc:
        raise invalid_spec(exc, "schedule", built=True) from exc
    return curve.window()
