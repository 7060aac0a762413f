"""``lrhub preview`` in this process: the server's preview use case behind an entry point.

The client's CLI finds this function through the ``lrhub.preview`` entry-point group, so
it never imports the service; it gets the same ``Window`` JSON as ``POST /v1/preview``.
"""

from __future__ import annotations

from typing import Any

from lrhub_service.engine import SpecError
from lrhub_service.usecases.preview import evaluate_preview


def preview(body: dict[str, Any]) -> dict[str, Any]:
    """A preview request's answer; ValueError (SpecError) names a bad field."""
    base_lrs = body.get("base_lrs")
    try:
        curve = evaluate_preview(
            body["schedule"],
            int(body["steps"]),
            groups=len(base_lrs) if base_lrs else 1,
            base_lrs=base_lrs,
            steps_per_epoch=body.get("steps_per_epoch"),
        )
    except SpecError as error:
        raise ValueError(error.detail) from None
    return {
        **curve.window(),
        "title": curve.title,
        "notes": curve.notes,
        "relative": curve.relative,
    }
