"""``GET /v1/limits``: the limits every request is admitted under (read-only)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from lrhub_service.api.responses import hub_of


class LimitsBody(BaseModel):
    """The published limits; over one, a request gets a 422 naming the field and the limit."""

    window_max: int = Field(description="steps one window holds at most (count is capped)")
    advance_max: int = Field(description="steps one advance takes at most (count is capped)")
    preview_max_steps: int = Field(description="steps of one preview")
    preview_max_values: int = Field(description="steps x groups of one preview")
    max_cost: int = Field(
        description="estimated node evaluations one request may cost "
        "(steps x groups x schedule nodes); windows are capped to fit, others refused"
    )
    inline_cost: int = Field(description="requests cheaper than this evaluate inline")
    eval_queue: int = Field(description="evaluations that may wait; more are shed with 503")
    eval_wait_s: float = Field(description="longest wait for evaluation before a 503")
    eval_timeout_s: float = Field(description="an evaluation running longer is stopped (422)")


router = APIRouter(prefix="/v1", tags=["operations"])


@router.get("/limits", response_model=LimitsBody, response_class=JSONResponse)
async def limits(request: Request) -> LimitsBody:
    """The server's request limits (nothing stored, nothing changed)."""
    return LimitsBody(**hub_of(request).evaluator.limits.as_json())
