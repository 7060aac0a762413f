"""The OpenAPI document: FastAPI's, completed with what the routes' signatures cannot say.

- ``Schedule`` is the engine's own ``"type"``-discriminated union (``engine.registry``),
  so every spec type is described from the models that validate it.
- Every error status an operation can answer is declared as ``application/problem+json``
  with one ``Problem`` schema: the routes declare their own (404, 409, 412...), and the
  ones every route of a kind shares are added here (401/403/503 under ``/v1``; 400, 413 and
  422 for a body; 422 for parameters). FastAPI's ``HTTPValidationError`` is never used.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from lrhub_service.api.auth import document_security
from lrhub_service.api.bodies import SCHEDULE_MARK, Problem
from lrhub_service.api.problems import declared
from lrhub_service.engine.registry import spec_adapter

REF_TEMPLATE = "#/components/schemas/{model}"
SCHEDULE_EXAMPLES: list[dict[str, Any]] = [
    {"type": "OneCycleLR", "max_lr": 0.4, "total_steps": 90_000},
    {
        "type": "SequentialLR",
        "schedulers": [
            {"type": "LinearLR", "start_factor": 0.01, "total_iters": 1000},
            {"type": "CosineAnnealingLR", "T_max": 89_000, "eta_min": 1e-5},
        ],
        "milestones": [1000],
        "base_lr": 0.1,
    },
    {"type": "ReduceLROnPlateau", "mode": "min", "factor": 0.5, "patience": 3},
    {"type": "LambdaLR", "lr_lambda": "0.95 ** epoch"},
    {
        "type": "transformers",
        "name": "cosine",
        "num_warmup_steps": 500,
        "num_training_steps": 10_000,
        "scheduler_specific_kwargs": {"num_cycles": 0.5},
    },
    {"type": "timm", "scheduler": "CosineLRScheduler", "t_initial": 300, "warmup_t": 5},
]
"""Examples of the ``Schedule`` schema (tests/api/test_contract_openapi.py parses each)."""
BODY_STATUSES = (400, 413, 422)
V1_STATUSES = (401, 403, 503)
DROPPED = ("HTTPValidationError", "ValidationError")


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The document ``app`` serves at ``/openapi.json``."""
    doc = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    for name in DROPPED:
        schemas.pop(name, None)
    schemas.update(schedule_schemas(schemas))
    schemas["Problem"] = Problem.model_json_schema(ref_template=REF_TEMPLATE)
    schemas.update(schemas["Problem"].pop("$defs", {}))
    for path, operations in doc.get("paths", {}).items():
        for operation in operations.values():
            _declare_problems(path, operation)
    return document_security(_refer_to_schedule(doc))


def _refer_to_schedule(node: Any) -> Any:
    """``node`` with every schedule mark (see ``bodies.Schedule``) made a ``$ref``."""
    if isinstance(node, dict):
        if node.get(SCHEDULE_MARK):
            return {"$ref": REF_TEMPLATE.format(model="Schedule")}
        return {key: _refer_to_schedule(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_refer_to_schedule(item) for item in node]
    return node


def schedule_schemas(taken: dict[str, Any]) -> dict[str, Any]:
    """``Schedule`` (the union) and one schema per spec type, for ``components/schemas``."""
    union = spec_adapter().json_schema(ref_template=REF_TEMPLATE)
    members: dict[str, Any] = union.pop("$defs", {})
    clash = sorted(set(members) & set(taken))
    if clash:
        raise RuntimeError(f"spec model names clash with API schemas: {clash}")
    ref = {"$ref": REF_TEMPLATE.format(model="Schedule")}
    for name, member in members.items():
        members[name] = member = _replace(member, union, ref)  # nested specs: the union again
        if "type" in member.get("properties", {}):
            member["required"] = sorted({*member.get("required", []), "type"})
    union["title"] = "Schedule"
    union["description"] = (
        "A schedule spec: a \"type\" (a torch scheduler's class name, one of lrhub's own, or "
        "a library form: \"transformers\" or \"timm\") and that type's parameters, with "
        "torch's (or the library's) keyword names and defaults."
    )
    union["examples"] = SCHEDULE_EXAMPLES
    return {"Schedule": union, **members}


def _replace(node: Any, old: Any, new: Any) -> Any:
    """``node`` with every occurrence of ``old`` replaced by ``new``."""
    if node == old:
        return new
    if isinstance(node, dict):
        return {key: _replace(value, old, new) for key, value in node.items()}
    if isinstance(node, list):
        return [_replace(item, old, new) for item in node]
    return node


def _declare_problems(path: str, operation: dict[str, Any]) -> None:
    """Add the shared error statuses to one operation; drop FastAPI's validation error."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    statuses: list[int] = []
    if path.startswith("/v1/"):
        statuses.extend(V1_STATUSES)
    if "requestBody" in operation:
        statuses.extend(BODY_STATUSES)
    if operation.get("parameters"):
        statuses.append(422)
    for status, answer in list(responses.items()):
        schemas = [media.get("schema", {}) for media in answer.get("content", {}).values()]
        if any(schema.get("$ref", "").endswith("/HTTPValidationError") for schema in schemas):
            del responses[status]
    for status, answer in declared(*statuses).items():
        responses.setdefault(str(status), answer)
