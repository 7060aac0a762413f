"""Raw JSON to a validated spec: the ``"type"`` union, error paths, canonical JSON."""

from __future__ import annotations

from difflib import get_close_matches
from typing import Any

from pydantic import ValidationError

from .checks import check_cost, check_shape
from .cost import SpecCost
from .errors import SpecError, join_loc
from .registry import SPEC_TYPES, spec_adapter
from .specs.base import SpecModel

_adapter = spec_adapter


def type_names() -> list[str]:
    """The valid values of ``"type"``."""
    return [model.model_fields["type"].default for model in SPEC_TYPES]


def parse_spec(data: Any) -> SpecModel:
    """Validate raw JSON into a spec model; SpecError lists every problem with its path.

    Specs over a limit of ``engine.limits`` (size, nesting, expression work, cost) are
    refused with a CostLimitError (a SpecError) naming the field and the limit.
    """
    return validate_spec(data)[0]


def validate_spec(data: Any) -> tuple[SpecModel, SpecCost]:
    """:func:`parse_spec`, also giving the spec's cost (for ``engine.limits.admit``)."""
    if isinstance(data, SpecModel):
        data = data.model_dump(mode="json")
    check_shape(data)
    try:
        spec = _adapter().validate_python(data)
    except ValidationError as exc:
        errors = [found for e in exc.errors() if (found := _convert(e)) is not None]
        raise SpecError(errors or [{"loc": "", "msg": "invalid spec"}]) from None
    problems = list(_problems(spec, ""))
    if problems:
        raise SpecError(problems)
    return spec, check_cost(spec)


def canonical_json(spec: SpecModel) -> dict[str, Any]:
    """The spec as plain JSON with every default filled in: equal specs, equal dicts."""
    return spec.model_dump(mode="json")


def _problems(spec: SpecModel, loc: str) -> list[dict[str, str]]:
    found = []
    for parts, msg in spec.problems():
        path = loc
        for part in parts:
            path = join_loc(path, part)
        found.append({"loc": path, "msg": msg})
    for parts, child in spec.children():
        path = loc
        for part in parts:
            path = join_loc(path, part)
        found.extend(_problems(child, path))
    return found


def _convert(error: Any) -> dict[str, str] | None:
    """A pydantic error as ``{"loc", "msg"}``; None for the irrelevant branch of a union."""
    models = {name: model for name, model in zip(type_names(), SPEC_TYPES, strict=True)}
    loc, model = "", None
    parts = list(error["loc"])
    for i, part in enumerate(parts):
        if isinstance(part, str) and part in models:
            model = models[part]  # discriminated unions put the tag (a class name) in the path
            continue
        if isinstance(part, str) and ("[" in part or "-" in part or part in _SCALARS):
            if _other_branch(error, part, i == len(parts) - 1):
                return None
            continue
        loc = join_loc(loc, part)
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        loc = join_loc(loc, "type")
    if error["type"] == "extra_forbidden" and model is not None:
        names = [name for name in model.model_fields if name != "type"]
        hint = did_you_mean(str(parts[-1]), names)
        takes = f"{model.__name__} takes: {', '.join(names)}"
        return {"loc": loc, "msg": f"unknown field; {hint}{takes}"}
    return {"loc": loc, "msg": _message(error, loc)}


def did_you_mean(word: str, choices: list[str]) -> str:
    """``"did you mean X? "`` for the choice closest to a misspelt ``word``, else ``""``."""
    folded = {choice.lower(): choice for choice in choices}
    found = get_close_matches(word.lower(), list(folded), n=1, cutoff=0.6)
    return f"did you mean {folded[found[0]]}? " if found else ""


_SCALARS = {"float", "int", "str", "bool", "none"}


def _other_branch(error: Any, member: str, last: bool) -> bool:
    """Whether an error comes from the union member that does not fit the input's shape."""
    if member.startswith("list["):
        return last and error["type"] == "list_type"
    return isinstance(error.get("input"), list)


def _message(error: Any, loc: str) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    valid = ", ".join(type_names())
    simple = {
        "greater_than": "must be > {gt}",
        "greater_than_equal": "must be >= {ge}",
        "less_than": "must be < {lt}",
        "less_than_equal": "must be <= {le}",
        "missing": "field required",
        "int_type": "must be an integer",
        "int_from_float": "must be an integer",
        "int_parsing": "must be an integer",
        "float_type": "must be a number",
        "float_parsing": "must be a number",
        "finite_number": "must be a finite number (not NaN or infinity)",
        "bool_type": "must be true or false",
        "bool_parsing": "must be true or false",
        "string_type": "must be a string",
        "list_type": "must be a list",
        "too_short": "must have at least {min_length} item(s)",
        "too_long": "must have at most {max_length} item(s)",
        "string_too_short": "must have at least {min_length} character(s)",
        "string_too_long": "must have at most {max_length} characters",
        "literal_error": "must be one of {expected}",
        "union_tag_invalid": "unknown type {tag!r}; {hint}valid types: " + valid,
        "union_tag_not_found": 'missing "type"; valid types: ' + valid,
        "model_attributes_type": 'must be an object with a "type"',
        "dict_type": "must be an object",
    }
    if kind == "extra_forbidden":
        return "unknown field (check its spelling against the type's parameters)"
    if kind == "model_type" or kind == "model_attributes_type":
        return 'must be an object with a "type"'
    if kind == "union_tag_invalid":
        ctx = {**ctx, "hint": did_you_mean(str(ctx.get("tag", "")), type_names())}
    if kind in simple:
        try:
            return simple[kind].format(**ctx)
        except (KeyError, IndexError):
            return simple[kind]
    msg = str(error.get("msg", "invalid value"))
    return msg.removeprefix("Value error, ")
