"""Integer parameters parsed by hand, and the hot read's input parsed in one place.

``GET /v1/runs/{id}/lr?step=k`` is answered by ``FastReadMiddleware`` when well formed and by
the FastAPI route otherwise; both parse it here, and the OpenAPI document describes it from
the same bounds.
"""

from __future__ import annotations

import re
from typing import Any

from lrhub_service.api.schemas import MAX_RUN_ID, MAX_STEP
from lrhub_service.usecases.errors import Invalid

LR_PATH = re.compile(r"/v1/runs/([0-9]{1,19})/lr")
STEP_QUERY = re.compile(r"step=([0-9]{1,19})")


def parse_int(raw: str | None, loc: str, low: int, high: int = MAX_STEP) -> int:
    """One integer parameter, or a 422 naming it."""
    if raw is None:
        raise Invalid("Field required", loc=loc)
    try:
        value = int(raw)
    except ValueError:
        raise Invalid("Input should be a valid integer", loc=loc) from None
    if not low <= value <= high:
        raise Invalid(f"Input should be between {low} and {high}", loc=loc)
    return value


def openapi_param(
    name: str, where: str, low: int, high: int, required: bool = True
) -> dict[str, Any]:
    """The OpenAPI description of an integer parameter parsed with ``parse_int``."""
    return {
        "name": name,
        "in": where,
        "required": required,
        "schema": {"type": "integer", "minimum": low, "maximum": high},
    }


RUN_ID_PARAM = openapi_param("run_id", "path", 1, MAX_RUN_ID)
LR_PARAMS = [RUN_ID_PARAM, openapi_param("step", "query", 0, MAX_STEP)]


def lr_request(run_id: str | None, step: str | None) -> tuple[int, int]:
    """The run id and step of a value read (422 naming the bad one)."""
    return parse_int(run_id, "run_id", 1, MAX_RUN_ID), parse_int(step, "step", 0)


def well_formed_lr_request(path: str, query: bytes) -> tuple[int, int] | None:
    """``(run_id, step)`` of a plainly well-formed value read, else None (the route answers)."""
    matched = LR_PATH.fullmatch(path)
    if matched is None:
        return None
    step = STEP_QUERY.fullmatch(query.decode("latin-1"))
    if step is None:
        return None
    try:
        return lr_request(matched[1], step[1])
    except Invalid:
        return None
