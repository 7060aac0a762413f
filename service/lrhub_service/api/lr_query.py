"""Integer parameters parsed by hand, and the hot reads' input parsed in one place.

``GET /v1/runs/{id}/lr?step=k`` and ``GET /v1/runs/{id}/window?start=a&count=n`` are
answered by ``FastReadMiddleware`` when well formed and by the FastAPI routes otherwise;
both parse them here, and the OpenAPI document describes them from the same bounds.
"""

from __future__ import annotations

import re
from typing import Any

from lrhub_service.api.schemas import MAX_RUN_ID, MAX_STEP
from lrhub_service.usecases.errors import Invalid

LR_PATH = re.compile(r"/v1/runs/([0-9]{1,19})/lr")
STEP_QUERY = re.compile(r"step=([0-9]{1,19})")
WINDOW_PATH = re.compile(r"/v1/runs/([0-9]{1,19})/window")
WINDOW_QUERY = re.compile(r"start=([0-9]{1,19})(?:&count=([0-9]{1,7}))?")
WINDOW_COUNT_DEFAULT = 1024
WINDOW_COUNT_MAX = 1_000_000


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
WINDOW_PARAMS = [
    RUN_ID_PARAM,
    openapi_param("start", "query", 0, MAX_STEP),
    openapi_param("count", "query", 1, WINDOW_COUNT_MAX, required=False),
]


def lr_request(run_id: str | None, step: str | None) -> tuple[int, int]:
    """The run id and step of a value read (422 naming the bad one)."""
    return parse_int(run_id, "run_id", 1, MAX_RUN_ID), parse_int(step, "step", 0)


def window_request(
    run_id: str | None, start: str | None, count: str | None
) -> tuple[int, int, int]:
    """The run id, first step and step count of a window read (422 naming the bad one)."""
    raw_count = str(WINDOW_COUNT_DEFAULT) if count is None else count
    return (
        parse_int(run_id, "run_id", 1, MAX_RUN_ID),
        parse_int(start, "start", 0),
        parse_int(raw_count, "count", 1, WINDOW_COUNT_MAX),
    )


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


def well_formed_window_request(path: str, query: bytes) -> tuple[int, int, int] | None:
    """``(run_id, start, count)`` of a plainly well-formed window read (``start`` then an
    optional ``count``), else None (the route answers)."""
    matched = WINDOW_PATH.fullmatch(path)
    if matched is None:
        return None
    params = WINDOW_QUERY.fullmatch(query.decode("latin-1"))
    if params is None:
        return None
    try:
        return window_request(matched[1], params[1], params[2])
    except Invalid:
        return None
