"""``GET /v1/limits``: the limits every request is admitted under (read-only).

One place: the engine's limits (``engine.limits_json``: the CPU budget, the spec limits and
the cost coefficients they follow from) together with this server's caps
(``usecases.compute.Limits``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from lrhub_service.api.responses import hub_of


class LimitsBody(BaseModel):
    """The published limits; over one, a request gets a 422 naming the field and the limit."""

    budget_ms: float = Field(description="CPU one request may cost, by the engine's estimate")
    budget_us: float = Field(description="the same budget in µs")
    window_steps: int = Field(description="steps a spec must serve in one window (the default)")
    min_steps: int = Field(description="steps of one group every admitted spec serves")
    max_depth: int = Field(description="nesting depth of a spec")
    max_expression_chars: int = Field(description="characters of one expression")
    max_nodes: int = Field(description="nodes of one spec")
    max_children: int = Field(description="children of one composite")
    max_expression_ops: int = Field(description="operations of one expression")
    max_expression_chars_total: int = Field(description="characters of a spec's expressions")
    running_product_steps: int = Field(description="steps a running product may walk")
    coefficients: dict[str, Any] = Field(description="the cost model's measured coefficients")
    window_max: int = Field(description="steps one window holds at most (count is capped)")
    advance_max: int = Field(description="steps one advance takes at most (count is capped)")
    preview_max_steps: int = Field(description="steps of one preview")
    preview_max_values: int = Field(description="steps x groups of one preview")
    inline_us: float = Field(
        description="work estimated under this many µs of CPU evaluates on the event loop"
    )
    eval_queue: int = Field(description="evaluations that may wait; more are shed with 503")
    eval_wait_s: float = Field(description="longest wait for evaluation before a 503")
    eval_timeout_s: float = Field(description="an evaluation running longer is stopped (422)")


router = APIRouter(prefix="/v1", tags=["operations"])


@router.get("/limits", response_model=LimitsBody, response_class=JSONResponse)
async def limits(request: Request) -> LimitsBody:
    """The server's request limits (nothing stored, nothing changed)."""
    return LimitsBody(**hub_of(request).evaluator.limits.as_json())
